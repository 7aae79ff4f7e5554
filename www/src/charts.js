// The charts, drawn with Apache ECharts (tree-shaken; SVG renderer: crisp at any zoom,
// inspectable, and no canvas fingerprinting surface). Loaded after the first plan (main.js imports
// it dynamically), so that the plan does not wait for it.
//
// Every chart has, beside it, an HTML legend that names every line (it wraps instead of paging;
// its buttons show and hide a line) and a table of the data it draws (dataTable). Colour scales
// have numbered classes; axis labels are rounded.

import * as echarts from 'echarts/core';
import { BarChart, LineChart, ScatterChart } from 'echarts/charts';
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import * as fmt from 'optiserve/format';

echarts.use([
  BarChart,
  LineChart,
  ScatterChart,
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
  SVGRenderer,
]);

export const AXIS_NAME = {
  max_latency_ms: 'max latency (ms)',
  max_cost_usd_per_million: 'max cost (USD per million executions)',
  min_accuracy: 'min accuracy score',
  latency_ms: 'latency (ms)',
  cost_usd_per_million: 'cost (USD per million executions)',
  accuracy: 'accuracy score',
};

/** Line colours: distinguishable, each with at least 4.5:1 contrast on white. */
export const COLORS = ['#1f5fbf', '#b93e0b', '#15803d', '#7e22ce', '#b91c1c', '#0f766e', '#8a5a00', '#4338ca'];
/** The accuracy scale, light to dark (5 numbered classes). */
export const SCALE = ['#fcd34d', '#f59e0b', '#d97706', '#b45309', '#78350f'];
const INK = '#222';

function chart(el) {
  const instance = echarts.init(el, null, { renderer: 'svg' });
  new ResizeObserver(() => instance.resize()).observe(el);
  return instance;
}

const base = (description) => ({
  animation: false,
  color: COLORS,
  aria: { enabled: true, label: { description } },
  textStyle: { fontFamily: 'system-ui, sans-serif', color: INK },
  legend: { show: false },
});

/** An axis label: at most 4 significant digits, thousands as "k" from 10,000. */
export function axisNumber(x) {
  if (!Number.isFinite(x)) return '';
  if (Math.abs(x) >= 10_000) return `${Number((x / 1000).toPrecision(3)).toLocaleString('en-US')}k`;
  return Number(x.toPrecision(4)).toLocaleString('en-US');
}

const axis = (name, extra = {}) => ({
  type: 'value',
  name,
  nameTextStyle: { color: INK },
  scale: true,
  axisLabel: { formatter: axisNumber, color: INK },
  axisLine: { lineStyle: { color: '#555' } },
  ...extra,
});

/**
 * The legend beside a chart: every series named (it wraps, never pages). Items with `series`
 * are buttons that show or hide that series (aria-pressed says which); marks are plain items.
 */
function legend(list, instance, items) {
  list.replaceChildren(
    ...items.map((item) => {
      const li = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = `swatch ${item.kind ?? 'line'}`;
      swatch.style.setProperty('--swatch', item.color);
      swatch.setAttribute('aria-hidden', 'true');
      if (item.series) {
        const button = document.createElement('button');
        button.type = 'button';
        button.setAttribute('aria-pressed', 'true');
        button.append(swatch, item.label);
        button.addEventListener('click', () => {
          const on = button.getAttribute('aria-pressed') !== 'true';
          button.setAttribute('aria-pressed', String(on));
          instance.dispatchAction({ type: on ? 'legendSelect' : 'legendUnSelect', name: item.series });
        });
        li.append(button);
      } else {
        li.append(swatch, item.label);
      }
      return li;
    }),
  );
}

/**
 * The data of a chart as a table, inside a <details> (filled when first opened, and again when
 * the data changes while it is open): `columns` are header texts, `rows` arrays of cell texts.
 */
export function dataTable(details) {
  const wrap = details.querySelector('.table-wrap');
  let pending = null;
  const fill = () => {
    if (!pending) return;
    const { caption, columns, rows } = pending;
    pending = null;
    const table = document.createElement('table');
    table.className = 'numbers data';
    table.createCaption().textContent = caption;
    const head = table.createTHead().insertRow();
    for (const c of columns) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = c;
      head.append(th);
    }
    const body = table.createTBody();
    for (const r of rows) {
      const tr = body.insertRow();
      r.forEach((text, i) => {
        const cell = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) cell.scope = 'row';
        cell.textContent = text;
        tr.append(cell);
      });
    }
    wrap.replaceChildren(table);
  };
  details.addEventListener('toggle', () => details.open && fill());
  return {
    set(data) {
      pending = data;
      if (details.open) fill();
    },
  };
}

/** Optimized objective against one constraint, one line per value of another (thesis Fig. 5.6). */
export function whatIfChart(el, legendList) {
  const c = chart(el);
  let last = null;
  const option = (d) => {
    const mark =
      d.current === null
        ? undefined
        : {
            silent: true,
            symbol: 'none',
            label: { formatter: 'current limit', position: 'insideEndTop', color: INK },
            lineStyle: { type: 'dashed', color: '#444' },
            data: [{ xAxis: d.current }],
          };
    return {
      ...base(
        `What-if: the optimized ${AXIS_NAME[d.yField]} against ${AXIS_NAME[d.x]}, one line per ${AXIS_NAME[d.lines]}. Gaps are infeasible points.`,
      ),
      tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? 'infeasible' : axisNumber(v)) },
      grid: { left: 64, right: 24, top: 32, bottom: 48 },
      xAxis: axis(AXIS_NAME[d.x], { nameLocation: 'middle', nameGap: 28 }),
      yAxis: axis(AXIS_NAME[d.yField]),
      series: d.series.map((s, i) => ({
        type: 'line',
        name: s.name,
        data: s.data,
        showSymbol: s.data.length <= 60,
        symbolSize: 5,
        connectNulls: false,
        markLine: i === 0 ? mark : undefined,
      })),
    };
  };
  return {
    instance: c,
    /** @param {{x: string, lines: string, yField: string, series: {name: string, data: [number, number|null][]}[], current: number|null}} d */
    render(d) {
      last = d;
      c.setOption(option(d), { notMerge: true });
      legend(
        legendList,
        c,
        [
          ...d.series.map((s, i) => ({ label: s.name, series: s.name, color: COLORS[i % COLORS.length] })),
          ...(d.current === null ? [] : [{ label: `current limit (${axisNumber(d.current)})`, color: '#444', kind: 'dashed' }]),
        ],
      );
    },
    /** Moves the "current limit" line (no new sweep). */
    mark(current) {
      if (last && last.current !== current) this.render({ ...last, current });
    },
  };
}

/** The Pareto front: latency against cost, colour = accuracy (numbered classes); a click picks a point. */
export function paretoChart(el, legendList, onPick) {
  const c = chart(el);
  c.on('click', (e) => {
    if (e.seriesId === 'front' && Array.isArray(e.data)) onPick(e.data[3]);
  });
  const markSeries = (d) => {
    const at = (p) => [p.latency_ms, p.cost_usd_per_million];
    const marks = [];
    if (d.deployed) marks.push({ id: 'deployed', name: 'deployed', symbol: 'triangle', size: 16, color: '#0f766e', value: at(d.deployed) });
    if (d.recommended) marks.push({ id: 'recommended', name: 'recommended', symbol: 'circle', size: 18, color: '#111', value: at(d.recommended) });
    if (d.selected !== null && d.front[d.selected])
      marks.push({ id: 'picked', name: `picked (#${d.selected + 1})`, symbol: 'diamond', size: 20, color: '#7e22ce', value: at(d.front[d.selected]) });
    return marks.map((m) => ({
      id: `mark-${m.id}`,
      type: 'scatter',
      name: m.name,
      data: [m.value],
      symbol: m.symbol,
      symbolSize: m.size,
      itemStyle: { color: 'rgba(0,0,0,0)', borderColor: m.color, borderWidth: 2.5 },
      z: 10,
      silent: true,
      tooltip: { show: false },
    }));
  };
  let classes = [];
  return {
    instance: c,
    /** @param {{front: object[], accuracy: [number, number], selected: number|null, recommended: object|null, deployed: object|null}} d */
    render(d) {
      const points = d.front.map((p, i) => [p.latency_ms, p.cost_usd_per_million, p.accuracy, i]);
      const [lo, hi] = d.accuracy;
      classes = fmt.classes(lo, hi, SCALE.length);
      c.setOption(
        {
          ...base(
            `Pareto front of ${points.length} configurations: latency against cost; the colour is the accuracy score in ${classes.length} classes from ${lo.toFixed(2)} to ${hi.toFixed(2)}.`,
          ),
          tooltip: {
            trigger: 'item',
            formatter: (e) =>
              e.seriesId === 'front'
                ? `#${e.data[3] + 1}<br>latency ${axisNumber(e.data[0])} ms<br>cost $${axisNumber(e.data[1])}/M<br>accuracy ${e.data[2].toFixed(4)}`
                : e.seriesName,
          },
          grid: { left: 64, right: 24, top: 24, bottom: 48 },
          xAxis: axis('latency (ms)', { nameLocation: 'middle', nameGap: 28 }),
          yAxis: axis('cost (USD/M)'),
          visualMap: {
            type: 'piecewise',
            show: false,
            dimension: 2,
            seriesIndex: 0,
            pieces: classes.map((k, i) => ({ min: k.from, max: k.to, color: SCALE[i] })),
          },
          series: [
            { id: 'front', type: 'scatter', name: 'Pareto front', data: points, symbolSize: 7, cursor: 'pointer', itemStyle: { borderColor: '#0005', borderWidth: 0.5 } },
            ...markSeries(d),
          ],
        },
        { notMerge: true },
      );
      this.legend(d);
    },
    /** Moves the marks (recommended, picked, deployed) without redrawing the front. */
    mark(d) {
      c.setOption({ series: [{ id: 'front' }, ...markSeries(d)] }, { replaceMerge: ['series'] });
      this.legend(d);
    },
    legend(d) {
      legend(legendList, c, [
        ...classes.map((k, i) => ({ label: `accuracy ${k.label}`, color: SCALE[i], kind: 'point' })),
        ...markSeries(d).map((m) => ({ label: m.name, color: m.itemStyle.borderColor, kind: `mark ${m.symbol}` })),
      ]);
    },
  };
}

/** A function's ET(m) per variant: the model's curve, the profiled samples, the fit error. */
export function durationChart(el, legendList) {
  const c = chart(el);
  return {
    instance: c,
    /**
     * @param {{fn: string, variants: {name: string, legend: string, knee: number|null, curve: [number, number][], warm: [number, number][], cold: [number, number][]}[], current: {memory_mb: number, variant: string}|null}} d
     */
    render(d) {
      const series = [];
      const items = [];
      d.variants.forEach((v, i) => {
        const color = COLORS[i % COLORS.length];
        const marks = [];
        if (d.current && d.current.variant === v.name)
          marks.push({
            xAxis: d.current.memory_mb,
            label: { formatter: `current: ${d.current.memory_mb} MB`, position: 'insideEndTop', color: INK },
            lineStyle: { type: 'dashed', color: '#111' },
          });
        // A CPU-share model's knee: beyond it the single-threaded part gets no faster.
        if (v.knee != null)
          marks.push({
            xAxis: v.knee,
            label: { formatter: `knee ${v.knee} MB`, position: 'insideStartTop', color },
            lineStyle: { type: 'dotted', color },
          });
        series.push({
          type: 'line',
          name: v.legend,
          data: v.curve,
          showSymbol: false,
          lineStyle: { width: 2, color },
          itemStyle: { color },
          markLine: marks.length ? { silent: true, symbol: 'none', data: marks } : undefined,
        });
        if (v.warm.length)
          series.push({ type: 'scatter', name: v.legend, data: v.warm, symbolSize: 4, itemStyle: { color, opacity: 0.45 } });
        if (v.cold.length)
          series.push({ type: 'scatter', name: v.legend, data: v.cold, symbol: 'emptyCircle', symbolSize: 6, itemStyle: { color, opacity: 0.6 } });
        items.push({ label: v.legend, series: v.legend, color });
      });
      if (d.variants.some((v) => v.warm.length)) items.push({ label: 'profiled samples: warm (filled), cold (hollow)', color: '#555', kind: 'point' });
      if (d.current) items.push({ label: `current memory (${d.current.memory_mb} MB)`, color: '#111', kind: 'dashed' });
      c.setOption(
        {
          ...base(`Execution time of ${d.fn} against memory for each variant: the model's curve and the profiled samples.`),
          tooltip: { trigger: 'item', valueFormatter: (v) => axisNumber(v) },
          grid: { left: 64, right: 24, top: 24, bottom: 48 },
          xAxis: axis('memory (MB)', { nameLocation: 'middle', nameGap: 28 }),
          yAxis: axis('ET (ms)'),
          series,
        },
        { notMerge: true },
      );
      legend(legendList, c, items);
    },
  };
}

/**
 * One function's duration and cost against memory, for the variant of the configuration on
 * screen (what AWS Lambda Power Tuning users know), with the chosen and the deployed memory marked.
 */
export function memoryChart(el, legendList) {
  const c = chart(el);
  return {
    instance: c,
    /**
     * @param {{fn: string, variant: string, points: {memory_mb: number, duration_ms: number, cost_usd_per_million: number}[], chosen: number|null, deployed: number|null}} d
     */
    render(d) {
      const marks = [];
      if (d.deployed !== null)
        marks.push({ xAxis: d.deployed, label: { formatter: `deployed ${d.deployed} MB`, position: 'insideStartTop', color: '#0f766e' }, lineStyle: { type: 'dotted', color: '#0f766e', width: 2 } });
      if (d.chosen !== null)
        marks.push({ xAxis: d.chosen, label: { formatter: `chosen ${d.chosen} MB`, position: 'insideEndTop', color: INK }, lineStyle: { type: 'dashed', color: '#111', width: 2 } });
      c.setOption(
        {
          ...base(`Duration and cost of ${d.fn} (${d.variant}) against memory; the chosen memory is ${d.chosen ?? 'none'} MB, the deployed ${d.deployed ?? 'unknown'} MB.`),
          tooltip: { trigger: 'axis', valueFormatter: (v) => axisNumber(v) },
          grid: { left: 64, right: 72, top: 32, bottom: 48 },
          xAxis: axis('memory (MB)', { nameLocation: 'middle', nameGap: 28 }),
          yAxis: [axis('duration (ms)'), axis('cost (USD/M)', { splitLine: { show: false } })],
          series: [
            {
              type: 'line',
              name: 'duration',
              data: d.points.map((p) => [p.memory_mb, p.duration_ms]),
              showSymbol: d.points.length <= 40,
              symbolSize: 5,
              color: COLORS[0],
              markLine: marks.length ? { silent: true, symbol: 'none', data: marks } : undefined,
            },
            {
              type: 'line',
              name: 'cost',
              yAxisIndex: 1,
              data: d.points.map((p) => [p.memory_mb, p.cost_usd_per_million]),
              showSymbol: d.points.length <= 40,
              symbol: 'rect',
              symbolSize: 5,
              lineStyle: { type: 'dashed', width: 2 },
              color: COLORS[1],
            },
          ],
        },
        { notMerge: true },
      );
      const items = [
        { label: 'duration per invocation (ms, left axis)', series: 'duration', color: COLORS[0] },
        { label: 'cost (USD per million executions, right axis)', series: 'cost', color: COLORS[1], kind: 'dashed' },
      ];
      if (d.chosen !== null) items.push({ label: `chosen memory (${d.chosen} MB)`, color: '#111', kind: 'dashed' });
      if (d.deployed !== null) items.push({ label: `deployed memory (${d.deployed} MB)`, color: '#0f766e', kind: 'dotted' });
      legend(legendList, c, items);
    },
  };
}

/**
 * The simulated end-to-end latency of one configuration: the histogram of executions per latency
 * bin, with the mean and the p95 (and p99) marked.
 */
export function histogramChart(el, legendList) {
  const c = chart(el);
  return {
    instance: c,
    /** @param {{bins: {from_ms: number, to_ms: number, count: number}[], runs: number, marks: {name: string, ms: number}[]}} d */
    render(d) {
      const data = d.bins.map((b) => [(b.from_ms + b.to_ms) / 2, b.count, b.from_ms, b.to_ms]);
      const width = d.bins.length ? d.bins[0].to_ms - d.bins[0].from_ms : 1;
      c.setOption(
        {
          ...base(
            `Histogram of the end-to-end latency over ${d.runs} simulated executions; ` +
              d.marks.map((m) => `${m.name} ${axisNumber(m.ms)} ms`).join(', '),
          ),
          tooltip: {
            trigger: 'item',
            formatter: (e) =>
              Array.isArray(e.data)
                ? `${axisNumber(e.data[2])}–${axisNumber(e.data[3])} ms<br>${e.data[1].toLocaleString('en-US')} executions (${((100 * e.data[1]) / d.runs).toFixed(2)}%)`
                : e.name,
          },
          grid: { left: 64, right: 24, top: 36, bottom: 48 },
          xAxis: axis('end-to-end latency (ms)', {
            nameLocation: 'middle',
            nameGap: 28,
            scale: false,
            // Bars sit on their bin centres: the axis spans the bins' edges (not labelled: the
            // edges are not round numbers).
            min: d.bins.length ? d.bins[0].from_ms - width / 2 : undefined,
            max: d.bins.length ? d.bins[d.bins.length - 1].to_ms + width / 2 : undefined,
            axisLabel: { formatter: axisNumber, color: INK, showMinLabel: false, showMaxLabel: false },
          }),
          yAxis: axis('executions', { scale: false }),
          series: [
            {
              id: 'histogram',
              type: 'bar',
              name: 'executions',
              data,
              barWidth: '96%',
              barMaxWidth: 40,
              itemStyle: { color: COLORS[0] },
              markLine: {
                silent: true,
                symbol: 'none',
                label: { formatter: '{b}', position: 'insideEndTop', color: INK },
                lineStyle: { type: 'dashed', color: '#111' },
                data: d.marks.map((m) => ({ name: m.name, xAxis: m.ms })),
              },
            },
          ],
        },
        { notMerge: true },
      );
      legend(legendList, c, [
        { label: 'executions per latency bin', series: 'executions', color: COLORS[0], kind: 'point' },
        ...d.marks.map((m) => ({ label: `${m.name} (${fmt.ms(m.ms)})`, color: '#111', kind: 'dashed' })),
      ]);
    },
  };
}
