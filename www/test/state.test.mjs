// The pure parts of the site, in Node: the URL fragment and the diagram's graph analysis.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeConfig, decodeView, defaultView, encodeConfig, encodeView, linspace, sweepAxes } from '../src/state.js';
import { backEdges, clusters } from '../src/diagram.js';
import { bundlePath, read } from './helpers.mjs';

test('a view survives the URL fragment', () => {
  const view = {
    ...defaultView(),
    source: 'local:0123456789abcdef',
    objective: 'cost',
    limits: { max_latency_ms: 9000.5, max_cost_usd_per_million: null, min_accuracy: 1.8 },
    whatIfX: 'min_accuracy',
    steps: 25,
    lines: 4,
    fn: 'resnet',
    pick: { f1: { memory_mb: 320, variant: 'default' }, 'odd id&=#': { memory_mb: 2048 } },
  };
  assert.deepEqual(decodeView(`#${encodeView(view)}`), view);
  assert.deepEqual(decodeView(encodeView(defaultView())), defaultView());
});

test('a malformed fragment falls back to the defaults, field by field', () => {
  const v = decodeView('#b=ftp:x&o=speed&lat=NaN&cost=1e400&acc=abc&wx=nope&ws=1&wl=0.5&pick=%7B%22f%22%3A%5B-1%2Cnull%5D%7D');
  const d = defaultView();
  assert.equal(v.source, d.source);
  assert.equal(v.objective, d.objective);
  assert.deepEqual(v.limits, d.limits);
  assert.equal(v.whatIfX, null);
  assert.equal(v.steps, d.steps);
  assert.equal(v.lines, d.lines);
  assert.equal(v.pick, null);
  assert.equal(decodeView('#lat=').limits.max_latency_ms, null);
  assert.equal(decodeView('#lat=0').limits.max_latency_ms, 0);
});

test('configurations in the fragment are checked', () => {
  assert.deepEqual(decodeConfig(encodeConfig({ a: { memory_mb: 128, variant: 'x' } })), { a: { memory_mb: 128, variant: 'x' } });
  for (const bad of ['', '[]', '{}', '{"a":[128]}', '{"a":[128.5,"x"]}', '{"a":[128,3]}', 'null']) {
    assert.equal(decodeConfig(bad), null, bad);
  }
});

test('what-if axes never sweep the optimized quantity', () => {
  assert.deepEqual(sweepAxes('latency', null), { x: 'max_cost_usd_per_million', lines: 'min_accuracy' });
  assert.deepEqual(sweepAxes('latency', 'min_accuracy'), { x: 'min_accuracy', lines: 'max_cost_usd_per_million' });
  assert.deepEqual(sweepAxes('cost', 'max_cost_usd_per_million'), { x: 'max_latency_ms', lines: 'min_accuracy' });
  assert.deepEqual(sweepAxes('accuracy', null), { x: 'max_latency_ms', lines: 'max_cost_usd_per_million' });
  assert.deepEqual(linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(linspace(3, 7, 1), [7]);
});

test('the diagram finds the back edges and the blocks of the media pipeline', () => {
  const bundle = JSON.parse(read(bundlePath('media-pipeline')));
  const edges = bundle.workflow.edges;
  const back = [...backEdges(edges)].map((i) => `${edges[i].from}->${edges[i].to}`);
  assert.deepEqual(back, ['review->ingest']);
  // The tree Planner.structure() returns for this bundle (checked against the package in e2e).
  const fn = (id) => ({ kind: 'function', id });
  const tree = {
    kind: 'sequence',
    items: [
      {
        kind: 'loop', expected_runs: 1.25, self_loop: false,
        body: {
          kind: 'sequence',
          items: [
            fn('ingest'),
            { kind: 'parallel', arms: [fn('classify'), fn('thumbnail')] },
            fn('merge'),
            { kind: 'branch', arms: [{ probability: 0.6, block: fn('detect') }, { probability: 0.4, block: fn('caption') }] },
            fn('review'),
          ],
        },
      },
      { kind: 'loop', expected_runs: 1 / 0.9, self_loop: true, body: fn('publish') },
    ],
  };
  const found = clusters(tree).map(({ id, parent, label, members }) => ({ id, parent, label, members }));
  assert.deepEqual(found, [
    { id: 'cluster-0', parent: null, label: 'cycle ×1.25 runs', members: ['ingest', 'classify', 'thumbnail', 'merge', 'detect', 'caption', 'review'] },
    { id: 'cluster-1', parent: 'cluster-0', label: 'parallel', members: ['classify', 'thumbnail'] },
  ]);
});
