// The charts, drawn with Apache ECharts (tree-shaken; SVG renderer: crisp at any zoom,
// inspectable, and no canvas fingerprinting surface). Each function here owns one chart instance.

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
import { label } from './format.js';

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

const AXIS_NAME = {
  max_latency_ms: 'max latency (ms)',
  max_cost_usd_per_million: 'max cost (USD per million executions)',
  min_accuracy: 'min accuracy score',
  latency_ms: 'latency (ms)',
  cost_usd_per_million: 'cost (USD per million executions)',
  accuracy: 'accuracy score',
};

const COLORS = ['#1f5fbf', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0f766e', '#a16207', '#4338ca'];

function chart(el) {
  const instance = echarts.init(el, null, { renderer: 'svg' });
  new ResizeObserver(() => instance.resize()).observe(el);
  return instance;
}

const base = (description) => ({
  animation: false,
  color: COLORS,
  aria: { enabled: true, label: { description } },
  textStyle: { fontFamily: 'system-ui, sans-serif' },
});

const compact = (x) =>
  Math.abs(x) >= 10000 ? `${(x / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })}k` : x.toLocaleString('en-US', { maximumFractionDigits: 3 });

/** Optimized objective against one constraint, one line per value of another (thesis Fig. 5.6). */
export function whatIfChart(el) {
  const c = chart(el);
  return {
    instance: c,
    /**
     * @param {{x: string, lines: string, yField: string, series: {name: string, data: [number, number|null][]}[], current: number|null}} d
     */
    render(d) {
      const mark = d.current === null ? undefined : {
        silent: true,
        symbol: 'none',
        label: { formatter: 'current limit', position: 'insideEndTop' },
        lineStyle: { type: 'dashed', color: '#555' },
        data: [{ xAxis: d.current }],
      };
      c.setOption(
        {
          ...base(
            `What-if: the optimized ${AXIS_NAME[d.yField]} against ${AXIS_NAME[d.x]}, one line per ${AXIS_NAME[d.lines]}. Gaps are infeasible points.`,
          ),
          tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? 'infeasible' : compact(v)) },
          legend: { type: 'scroll', top: 0 },
          grid: { left: 64, right: 24, top: 48, bottom: 48 },
          xAxis: { type: 'value', name: AXIS_NAME[d.x], nameLocation: 'middle', nameGap: 28, scale: true, axisLabel: { formatter: compact } },
          yAxis: { type: 'value', name: AXIS_NAME[d.yField], scale: true, axisLabel: { formatter: compact } },
          series: d.series.map((s, i) => ({
            type: 'line',
            name: s.name,
            data: s.data,
            showSymbol: true,
            symbolSize: 5,
            connectNulls: false,
            markLine: i === 0 ? mark : undefined,
          })),
        },
        { notMerge: true },
      );
    },
  };
}

/** The Pareto front: latency against cost, colour = accuracy; a click picks a point. */
export function paretoChart(el, onPick) {
  const c = chart(el);
  c.on('click', (e) => {
    if (e.seriesId === 'front' && Array.isArray(e.data)) onPick(e.data[3]);
  });
  return {
    instance: c,
    /** @param {{front: object[], accuracy: [number, number], selected: number|null, recommended: object|null}} d */
    render(d) {
      const points = d.front.map((p, i) => [p.latency_ms, p.cost_usd_per_million, p.accuracy, i]);
      const marks = [];
      if (d.recommended) marks.push({ name: 'recommended', value: [d.recommended.latency_ms, d.recommended.cost_usd_per_million] });
      if (d.selected !== null && d.front[d.selected]) {
        const p = d.front[d.selected];
        marks.push({ name: 'selected', value: [p.latency_ms, p.cost_usd_per_million] });
      }
      const [lo, hi] = d.accuracy;
      c.setOption(
        {
          ...base(`Pareto front of ${points.length} configurations: latency against cost, colour is the accuracy score from ${lo} to ${hi}.`),
          tooltip: {
            trigger: 'item',
            formatter: (e) =>
              e.seriesId === 'front'
                ? `#${e.data[3] + 1}<br>latency ${compact(e.data[0])} ms<br>cost $${compact(e.data[1])}/M<br>accuracy ${e.data[2].toFixed(4)}`
                : e.name,
          },
          grid: { left: 64, right: 96, top: 24, bottom: 48 },
          xAxis: { type: 'value', name: 'latency (ms)', nameLocation: 'middle', nameGap: 28, scale: true, axisLabel: { formatter: compact } },
          yAxis: { type: 'value', name: 'cost (USD/M)', scale: true, axisLabel: { formatter: compact } },
          visualMap: {
            type: 'continuous',
            dimension: 2,
            seriesIndex: 0,
            min: lo,
            max: hi > lo ? hi : lo + 1,
            text: ['accuracy', ''],
            right: 0,
            top: 'middle',
            calculable: false,
            inRange: { color: ['#fde68a', '#f59e0b', '#c2410c', '#7c2d12'] },
          },
          series: [
            { id: 'front', type: 'scatter', name: 'Pareto front', data: points, symbolSize: 7, cursor: 'pointer' },
            {
              id: 'marks',
              type: 'scatter',
              name: 'current',
              data: marks,
              symbol: 'circle',
              symbolSize: 16,
              itemStyle: { color: 'rgba(0,0,0,0)', borderColor: '#111', borderWidth: 2 },
              label: { show: true, formatter: '{b}', position: 'right', color: '#111' },
              z: 10,
              silent: true,
            },
          ],
        },
        { notMerge: true },
      );
    },
  };
}

/** A function's ET(m) per variant: the model's curve, the profiled samples, the fit error. */
export function durationChart(el) {
  const c = chart(el);
  return {
    instance: c,
    /**
     * @param {{fn: string, variants: {name: string, legend: string, knee: number|null, curve: [number, number][], warm: [number, number][], cold: [number, number][]}[], current: {memory_mb: number, variant: string}|null}} d
     */
    render(d) {
      const series = [];
      d.variants.forEach((v, i) => {
        const color = COLORS[i % COLORS.length];
        const marks = [];
        if (d.current && d.current.variant === v.name)
          marks.push({
            xAxis: d.current.memory_mb,
            label: { formatter: `current: ${d.current.memory_mb} MB`, position: 'insideEndTop' },
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
          series.push({
            type: 'scatter',
            name: v.legend,
            data: v.cold,
            symbol: 'emptyCircle',
            symbolSize: 6,
            itemStyle: { color, opacity: 0.6 },
          });
      });
      c.setOption(
        {
          ...base(`Execution time of ${d.fn} against memory for each variant: the model's curve and the profiled samples.`),
          tooltip: { trigger: 'item', valueFormatter: (v) => compact(v) },
          legend: { type: 'scroll', top: 0 },
          grid: { left: 64, right: 24, top: 48, bottom: 48 },
          xAxis: { type: 'value', name: 'memory (MB)', nameLocation: 'middle', nameGap: 28, scale: true },
          yAxis: { type: 'value', name: 'ET (ms)', scale: true, axisLabel: { formatter: compact } },
          series,
        },
        { notMerge: true },
      );
    },
  };
}

/**
 * The simulated end-to-end latency of one configuration: the histogram of executions per latency
 * bin, with the mean and the p95 (and p99) marked.
 */
export function histogramChart(el) {
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
              d.marks.map((m) => `${m.name} ${compact(m.ms)} ms`).join(', '),
          ),
          tooltip: {
            trigger: 'item',
            formatter: (e) =>
              Array.isArray(e.data)
                ? `${compact(e.data[2])}–${compact(e.data[3])} ms<br>${e.data[1].toLocaleString('en-US')} executions (${((100 * e.data[1]) / d.runs).toFixed(2)}%)`
                : e.name,
          },
          grid: { left: 64, right: 24, top: 36, bottom: 48 },
          xAxis: {
            type: 'value',
            name: 'end-to-end latency (ms)',
            nameLocation: 'middle',
            nameGap: 28,
            // Bars sit on their bin centres: the axis spans the bins' edges.
            min: d.bins.length ? d.bins[0].from_ms - width / 2 : undefined,
            max: d.bins.length ? d.bins[d.bins.length - 1].to_ms + width / 2 : undefined,
            axisLabel: { formatter: compact },
          },
          yAxis: { type: 'value', name: 'executions', axisLabel: { formatter: compact } },
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
                label: { formatter: '{b}', position: 'insideEndTop' },
                lineStyle: { type: 'dashed', color: '#111' },
                data: d.marks.map((m) => ({ name: m.name, xAxis: m.ms })),
              },
            },
          ],
        },
        { notMerge: true },
      );
    },
  };
}

export { label };
