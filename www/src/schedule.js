// Plan first, charts after: the plan panel is updated in the same task as the input that changed
// it; everything else (charts, the diagram, simulations, sweeps) waits until the input is quiet
// (a drag ended or paused) and the browser is idle, one piece at a time, so that a slider drag
// never waits for a chart. Long sweeps run a slice at a time between frames (SweepRunner).

/**
 * Yields to everything else the page has to do, a sweep's slices last: a background-priority task
 * where the browser has `scheduler.postTask` (`scheduler.yield()` would resume ahead of timers,
 * fetches and other tasks, and keep a typed limit waiting until the sweep ends), else a message
 * (in turn with the other tasks).
 */
export function yieldBackground() {
  if (typeof globalThis.scheduler?.postTask === 'function') return globalThis.scheduler.postTask(() => {}, { priority: 'background' });
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(0);
  });
}

/** Resolves when the browser is idle (at the latest after `timeout` ms). */
export function whenIdle(timeout = 100) {
  return new Promise((resolve) => {
    if (typeof requestIdleCallback === 'function') requestIdleCallback(() => resolve(), { timeout });
    else setTimeout(resolve, 0);
  });
}

/**
 * Deferred work, keyed (a later task with the same key replaces the waiting one) and ordered by
 * priority (lower first). `input()` postpones it by `quietMs` (call it on every input event);
 * `flush()` lets it start now (call it when a drag ends). `onState(busy)` tells when work is
 * waiting or done.
 */
export function createScheduler({ quietMs = 150, onState = () => {} } = {}) {
  const tasks = new Map();
  const waiters = [];
  let quietUntil = 0;
  let timer = 0;
  let running = false;
  let busy = false;

  const setBusy = (b) => {
    if (b === busy) return;
    busy = b;
    onState(b);
    if (!b) while (waiters.length) waiters.shift()();
  };
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(run, Math.max(0, quietUntil - performance.now()));
  };
  const next = () => {
    let best = null;
    for (const [key, t] of tasks) if (!best || t.priority < best[1].priority) best = [key, t];
    return best;
  };
  async function run() {
    if (running) return;
    running = true;
    while (tasks.size) {
      if (performance.now() < quietUntil) break;
      await whenIdle();
      if (performance.now() < quietUntil) break;
      const [key, task] = next();
      tasks.delete(key);
      try {
        await task.fn();
      } catch (e) {
        console.error(e);
      }
    }
    running = false;
    if (tasks.size) arm();
    else setBusy(false);
  }
  return {
    later(key, fn, priority = 5) {
      tasks.delete(key);
      tasks.set(key, { fn, priority });
      setBusy(true);
      arm();
    },
    input() {
      quietUntil = performance.now() + quietMs;
      if (tasks.size) arm();
    },
    flush() {
      quietUntil = 0;
      if (tasks.size) arm();
    },
    /** Resolves when no deferred work is waiting or running. */
    settled() {
      return busy ? new Promise((resolve) => waiters.push(resolve)) : Promise.resolve();
    },
  };
}

/**
 * Solves a long sweep a slice at a time: `solve(start, count)` returns the points of one slice;
 * slices are sized to take about `sliceMs`, and the browser handles input and paints between
 * them. A new `run` supersedes the one in progress (which then resolves to null).
 */
export function createSweepRunner({ sliceMs = 12 } = {}) {
  let generation = 0;
  let active = 0;
  return {
    get running() {
      return active > 0;
    },
    async run(total, solve, progress = () => {}) {
      const me = ++generation;
      active++;
      try {
        const out = [];
        let size = 2;
        while (out.length < total) {
          const started = performance.now();
          out.push(...solve(out.length, Math.min(size, total - out.length)));
          const took = Math.max(performance.now() - started, 0.05);
          size = Math.max(1, Math.min(size * 2, Math.floor((size * sliceMs) / took)));
          progress(out.length, total);
          await yieldBackground();
          if (me !== generation) return null;
        }
        return out;
      } finally {
        active--;
      }
    },
    cancel() {
      generation++;
    },
  };
}
