// The workflow diagram: the bundle's edges laid out by dagre, with the blocks `core` reduced the
// graph to (Planner.structure()) drawn as boxes around their functions: parallel blocks, Map states
// (items, concurrency) and cycles (with their expected number of runs); self-loops as arcs on their
// node; Step Functions states that are not functions (Wait, a Map's fork, a service integration
// with its service name, a callback's wait) as grey boxes; a function invoked at several sites
// once per site (dashed: the further sites); Distributed Maps with their child executions. Branch
// edges carry their probability (thick when measured, dotted when assumed), parallel fan-out edges
// a ‖ mark, back edges are dashed. Each function shows its memory and variant in the configuration
// on screen and its invocations per execution (NI).

import dagre from '@dagrejs/dagre';
import { mapLabel, stateLabel } from 'optiserve/format';

const SVG = 'http://www.w3.org/2000/svg';
const NODE_W = 176;
const NODE_H = 58;
const TERMINAL = 30;
const STATE_W = 150;
const STATE_H = 40;

function el(name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Edges that close a cycle: found by depth-first search from Start, as `core` finds them. */
export function backEdges(edges) {
  const out = new Map();
  edges.forEach((e, i) => {
    if (!out.has(e.from)) out.set(e.from, []);
    out.get(e.from).push([e.to, i]);
  });
  const state = new Map(); // 1 = on the stack, 2 = done
  const back = new Set();
  const visit = (n) => {
    state.set(n, 1);
    for (const [m, i] of out.get(n) ?? []) {
      if (m === n) continue;
      if (state.get(m) === 1) back.add(i);
      else if (!state.has(m)) visit(m);
    }
    state.set(n, 2);
  };
  visit('Start');
  return back;
}

/**
 * What the structure tree says about nodes that the bundle's lists do not: each state node's
 * service (`sns:publish`) and each function site's function, by node id.
 */
export function nodeInfo(tree) {
  const states = new Map();
  const sites = new Map();
  const walk = (b) => {
    if (!b) return;
    if (b.kind === 'state') states.set(b.id, b);
    else if (b.kind === 'function' && b.site) sites.set(b.site, b.id);
    if (b.kind === 'sequence') b.items.forEach(walk);
    else if (b.kind === 'branch') b.arms.forEach((a) => walk(a.block));
    else if (b.kind === 'parallel') b.arms.forEach(walk);
    else if (b.kind === 'loop' || b.kind === 'map') walk(b.body);
  };
  walk(tree);
  return { states, sites };
}

/** Clusters (parallel blocks and multi-node loops) from the structure tree, with their members. */
export function clusters(tree) {
  const found = [];
  const walk = (b, parent) => {
    switch (b.kind) {
      case 'function':
        return [b.site ?? b.id];
      case 'state':
        return [b.id];
      case 'sequence':
        return b.items.flatMap((x) => walk(x, parent));
      case 'branch':
        return b.arms.flatMap((a) => walk(a.block, parent));
      case 'parallel': {
        const id = `cluster-${found.length}`;
        const c = { id, parent, label: 'parallel', kind: 'parallel', members: [] };
        found.push(c);
        c.members = b.arms.flatMap((x) => walk(x, id));
        return c.members;
      }
      case 'loop': {
        const runs = `×${b.expected_runs.toFixed(2)}`;
        if (b.self_loop && b.body.kind === 'function') return walk(b.body, parent);
        const id = `cluster-${found.length}`;
        const c = { id, parent, label: `${b.self_loop ? 'self-loop' : 'cycle'} ${runs} runs`, kind: 'loop', members: [] };
        found.push(c);
        c.members = walk(b.body, id);
        return c.members;
      }
      case 'map': {
        const id = `cluster-${found.length}`;
        const c = { id, parent, label: mapLabel(b), kind: b.distributed ? 'map distributed' : 'map', members: [] };
        found.push(c);
        c.members = walk(b.body, id);
        return c.members;
      }
      default:
        return [];
    }
  };
  walk(tree, null);
  return found;
}

/** Lays the workflow out once per bundle. */
export function layout(bundle, tree) {
  const edges = bundle.workflow.edges;
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 28, ranksep: 44, edgesep: 16, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  g.setNode('Start', { width: TERMINAL * 2, height: TERMINAL });
  g.setNode('End', { width: TERMINAL * 2, height: TERMINAL });
  for (const f of bundle.functions) g.setNode(f.id, { width: NODE_W, height: NODE_H });
  // Step Functions states that are nodes without being Lambda functions (Wait, a Map's fork, …).
  const info = nodeInfo(tree);
  for (const s of bundle.workflow.states ?? []) {
    const t = info.states.get(s.id);
    // Wide enough for its name (bold 11 px: about 7 px a character).
    const width = Math.max(STATE_W, s.id.length * 7 + 16, (t?.service?.length ?? 0) * 6 + 16);
    g.setNode(s.id, { width, height: STATE_H, state: { ...s, service: t?.service ?? null } });
  }
  // Further sites of a function (a second Task state invoking it): drawn like the function, marked.
  const sitesOf = new Map();
  for (const site of bundle.workflow.sites ?? []) {
    g.setNode(site.id, { width: NODE_W, height: NODE_H, site });
    sitesOf.set(site.function, [...(sitesOf.get(site.function) ?? []), site.id]);
  }
  for (const f of bundle.functions) if (sitesOf.has(f.id)) g.node(f.id).sites = sitesOf.get(f.id);
  const groups = clusters(tree);
  for (const c of groups) g.setNode(c.id, { label: c.label, clusterLabelPos: 'top', paddingTop: 18 });
  // The innermost cluster of each function is its parent (members are listed outermost first).
  for (const c of groups) {
    if (c.parent) g.setParent(c.id, c.parent);
    for (const m of c.members) {
      const current = g.parent(m);
      const depth = (id) => {
        let d = 0;
        for (let p = id; p; p = g.parent(p)) d++;
        return d;
      };
      if (!current || depth(c.id) >= depth(current)) g.setParent(m, c.id);
    }
  }
  const back = backEdges(edges);
  const outDegreeOne = new Map();
  for (const e of edges) if (e.probability === 1 && e.from !== e.to) outDegreeOne.set(e.from, (outDegreeOne.get(e.from) ?? 0) + 1);
  const drawn = [];
  edges.forEach((e, i) => {
    if (e.from === e.to) {
      drawn.push({ ...e, index: i, self: true });
      return;
    }
    const parallel = e.probability === 1 && outDegreeOne.get(e.from) > 1;
    const text = parallel ? '‖' : e.probability < 1 ? `${+e.probability.toFixed(4)}` : '';
    const label = text ? { label: text, width: text.length * 7 + 8, height: 16 } : {};
    g.setEdge(e.from, e.to, { ...label, minlen: back.has(i) ? 1 : 1 }, `e${i}`);
    drawn.push({ ...e, index: i, back: back.has(i), parallel, text, name: `e${i}` });
  });
  dagre.layout(g);
  return { g, edges: drawn, groups };
}

function nodeText(fnEval) {
  if (!fnEval) return ['', ''];
  return [`${fnEval.memory_mb} MB · ${fnEval.variant}`, `NI ${fnEval.invocations.toFixed(3)}`];
}

/**
 * Draws a laid-out workflow into `svg` for an evaluation (per-function memory, variant, NI).
 * `provenance(edge)` returns 'measured' or 'assumed' for an edge whose probability has that basis
 * (the edge is then styled so); `describe(edge)` gives its tooltip.
 */
export function draw(svg, laid, evaluation, { provenance = () => undefined, describe = () => '' } = {}) {
  const { g } = laid;
  const graph = g.graph();
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${Math.ceil(graph.width)} ${Math.ceil(graph.height)}`);
  svg.setAttribute('width', String(Math.ceil(graph.width)));
  const defs = el('defs');
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }));
  defs.append(marker);
  svg.append(defs);

  for (const c of laid.groups) {
    const n = g.node(c.id);
    const group = el('g', { class: `cluster ${c.kind}` });
    group.append(el('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 8 }));
    group.append(el('text', { x: n.x - n.width / 2 + 8, y: n.y - n.height / 2 + 13, class: 'cluster-label' }, c.label));
    svg.append(group);
  }

  for (const e of laid.edges) {
    const kind = provenance(e);
    if (e.self) {
      const n = g.node(e.from);
      const x = n.x + n.width / 2;
      const y = n.y;
      const path = `M${x},${y - 12} C${x + 42},${y - 34} ${x + 42},${y + 34} ${x},${y + 12}`;
      const group = el('g', { class: `edge self${kind ? ` ${kind}` : ''}`, 'data-edge': e.index });
      group.append(el('title', {}, describe(e)));
      group.append(el('path', { d: path, 'marker-end': 'url(#arrow)' }));
      group.append(el('text', { x: x + 36, y: y + 4, class: 'edge-label' }, `${+e.probability.toFixed(4)} ↺`));
      svg.append(group);
      continue;
    }
    const info = g.edge({ v: e.from, w: e.to, name: e.name });
    const pts = info.points;
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    const cls = ['edge', e.back ? 'back' : '', e.parallel ? 'parallel' : '', kind ?? ''].filter(Boolean).join(' ');
    const group = el('g', { class: cls, 'data-edge': e.index });
    group.append(el('title', {}, describe(e)));
    group.append(el('path', { d, 'marker-end': 'url(#arrow)' }));
    if (e.text) {
      const lx = info.x ?? pts[Math.floor(pts.length / 2)].x;
      const ly = info.y ?? pts[Math.floor(pts.length / 2)].y;
      group.append(el('rect', { x: lx - info.width / 2, y: ly - 8, width: info.width, height: 16, rx: 3, class: 'edge-label-bg' }));
      group.append(el('text', { x: lx, y: ly + 4, 'text-anchor': 'middle', class: 'edge-label' }, e.text + (e.back ? ' ↺' : '')));
    }
    svg.append(group);
  }

  for (const id of ['Start', 'End']) {
    const n = g.node(id);
    const group = el('g', { class: 'terminal' });
    group.append(el('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: n.height / 2 }));
    group.append(el('text', { x: n.x, y: n.y + 4, 'text-anchor': 'middle' }, id));
    svg.append(group);
  }
  for (const id of g.nodes()) {
    if (id === 'Start' || id === 'End' || id.startsWith('cluster-')) continue;
    const n = g.node(id);
    if (n.state) {
      const s = n.state;
      const group = el('g', { class: 'state', 'data-state': id });
      group.append(el('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 3 }));
      group.append(el('text', { x: n.x, y: n.y - 3, 'text-anchor': 'middle', class: 'fn-id' }, id));
      group.setAttribute('class', `state ${s.kind}`);
      group.dataset.kind = s.kind;
      if (s.resource) group.append(el('title', {}, `${id}: ${s.resource}${s.price_per_request ? `, $${s.price_per_request} per request` : ''}`));
      group.append(el('text', { x: n.x, y: n.y + 12, 'text-anchor': 'middle' }, stateLabel(s)));
      svg.append(group);
      continue;
    }
    // A site shows its function's one memory and variant.
    const fnId = n.site ? n.site.function : id;
    const f = evaluation?.functions?.[fnId];
    let [line1, line2] = nodeText(f);
    const group = el('g', { class: n.site ? 'function site' : n.sites ? 'function reused' : 'function', 'data-function': fnId });
    if (n.site) {
      group.dataset.site = id;
      line2 = `site ${id}`;
      group.append(el('title', {}, `${id}: a further site of ${fnId} (the same memory and variant; its invocations are counted in ${fnId}'s NI)`));
    } else if (n.sites) {
      line2 = `${line2} · ${n.sites.length + 1} sites`;
      group.append(el('title', {}, `${fnId} is invoked at ${n.sites.length + 1} sites: here and at ${n.sites.join(', ')}`));
    }
    group.append(el('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 6 }));
    group.append(el('text', { x: n.x, y: n.y - 10, 'text-anchor': 'middle', class: 'fn-id' }, fnId));
    group.append(el('text', { x: n.x, y: n.y + 7, 'text-anchor': 'middle', class: 'fn-choice' }, line1));
    group.append(el('text', { x: n.x, y: n.y + 22, 'text-anchor': 'middle', class: 'fn-ni' }, line2));
    svg.append(group);
  }
}
