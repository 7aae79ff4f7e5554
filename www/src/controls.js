// The objective and limit controls: a checkbox, a slider and a number per limit, the executions
// per month. A slider reports every position while it moves (`preview`: the plan follows within
// the frame) and its end (`commit`: one history entry per drag or key press). A typed number is
// applied on Enter, when the field is left, or after a pause in typing — not at every keystroke.

import * as fmt from 'optiserve/format';
import { CONSTRAINTS } from './state.js';

/** How long a typed number waits for the next keystroke before it is applied. */
export const TYPING_PAUSE_MS = 700;

const $ = (sel) => document.querySelector(sel);

export function constraintRow(c) {
  return { on: $(`#${c}-on`), range: $(`#${c}-range`), number: $(`#${c}-number`), info: $(`#${c}-range-info`) };
}

/** What a slider position says to a screen reader, with its unit. */
function describe(row, c) {
  row.range.setAttribute('aria-valuetext', fmt.valueText(c, Number(row.range.value)));
}

/**
 * A slider position as a limit: 6 significant digits, rounded towards the loose side (up for a
 * maximum, down for a minimum), so that the slider's ends, which are the extremes the solver can
 * reach, stay reachable (501.0004555 → 501.001, not 501.000).
 */
export function sliderLimit(c, x) {
  const r = fmt.significant(x);
  const max = c.startsWith('max_');
  if (x === 0 || !Number.isFinite(x) || (max ? r >= x : r <= x)) return r;
  const q = 10 ** (Math.floor(Math.log10(Math.abs(x))) - 5);
  return fmt.significant(max ? r + q : r - q);
}

/**
 * Wires the limit controls. `onLimit(c, value, phase)` gets a limit (null: none) with phase
 * `preview` (a slider moving) or `commit` (a deliberate change); `onInput()` is told of every
 * input event (so that deferred work waits).
 */
export function limitControls({ onLimit, onInput }) {
  const timers = {};
  for (const c of CONSTRAINTS) {
    const row = constraintRow(c);
    row.on.addEventListener('change', () => {
      let value = null;
      if (row.on.checked) {
        value = sliderLimit(c, Number(row.range.value));
        row.number.value = String(value);
      } else {
        row.number.value = '';
      }
      row.range.disabled = !row.on.checked;
      onLimit(c, value, 'commit');
    });
    row.range.addEventListener('input', () => {
      onInput();
      const value = sliderLimit(c, Number(row.range.value));
      row.number.value = String(value);
      describe(row, c);
      onLimit(c, value, 'preview');
    });
    row.range.addEventListener('change', () => onLimit(c, sliderLimit(c, Number(row.range.value)), 'commit'));
    const apply = () => {
      clearTimeout(timers[c]);
      timers[c] = 0;
      const text = row.number.value.trim();
      const x = Number(text);
      let value;
      if (text === '') value = null;
      else if (Number.isFinite(x)) value = x;
      else return;
      row.on.checked = value !== null;
      row.range.disabled = value === null;
      if (value !== null) {
        row.range.value = String(value);
        describe(row, c);
      }
      onLimit(c, value, 'commit');
    };
    row.number.addEventListener('input', () => {
      onInput();
      clearTimeout(timers[c]);
      timers[c] = setTimeout(apply, TYPING_PAUSE_MS);
    });
    row.number.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        apply();
      }
    });
    // Leaving the field applies what was typed (if it was not applied yet).
    row.number.addEventListener('change', () => timers[c] && apply());
  }
}

/** Sets every limit control to the view's limits within the session's ranges. */
export function showLimits(view, ranges) {
  for (const c of CONSTRAINTS) {
    const row = constraintRow(c);
    const [lo, hi] = ranges[c];
    const step = (hi - lo) / 200;
    row.range.min = String(lo);
    row.range.max = String(hi);
    row.range.step = String(step);
    row.number.step = String(fmt.significant(step, 2));
    const v = view.limits[c];
    row.on.checked = v !== null;
    row.range.value = String(v ?? (c === 'min_accuracy' ? lo : hi));
    row.number.value = v === null ? '' : String(v);
    row.range.disabled = v === null;
    describe(row, c);
    row.info.textContent = `from ${fmt.limit(c, lo)} to ${fmt.limit(c, hi)}`;
  }
}

/** Disables every limit control (nothing loaded). */
export function clearLimits() {
  for (const c of CONSTRAINTS) {
    const row = constraintRow(c);
    row.on.checked = false;
    row.range.disabled = true;
    row.range.removeAttribute('aria-valuetext');
    row.number.value = '';
    row.info.textContent = '';
  }
}

/**
 * A number field applied on Enter, on leaving it, or after a pause in typing: `onValue(x)` with
 * a finite number, `onInvalid()` otherwise.
 */
export function numberField(input, { onValue, onInvalid = () => {}, onInput = () => {} }) {
  let timer = 0;
  const apply = () => {
    clearTimeout(timer);
    timer = 0;
    const text = input.value.trim();
    const x = Number(text);
    if (text !== '' && Number.isFinite(x)) onValue(x);
    else onInvalid(text);
  };
  input.addEventListener('input', () => {
    onInput();
    clearTimeout(timer);
    timer = setTimeout(apply, TYPING_PAUSE_MS);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      apply();
    }
  });
  input.addEventListener('change', () => timer && apply());
  return { apply };
}
