// bureau.js: the dashboards (教育局, and a school admin's own school):
// overview, trends, the per-school table and its drill-down, breakdowns by
// grade and category, unmet demand, the region tree. Everything is read
// from /api/v1/stats/* (snapshots the stats job computes).
import * as api from './api.js';
import {
  h, fill, card, stat, num, pct, table, chart, dateRange, today, loading, errorBox, CATEGORIES, dateTime,
} from './ui.js';

// The rates of the overview, in SPEC's order: [field, label, the counts
// behind it]. A rate without data (null: its denominator is 0) shows "—".
const RATES = [
  ['participation_rate', '学生参与率', (s) => `${num(s.participants)} / ${num(s.students)} 名学生`],
  ['coverage_rate', '学校覆盖率', (s) => `${num(s.schools_offering)} / ${num(s.schools)} 所学校开展`],
  ['rate_5plus2', '"5+2"达标率', (s) => `${num(s.schools_5plus2)} / ${num(s.schools)} 所学校达标`],
  ['parent_support_rate', '家长支持率', (s) => `${num(s.supporters)} / ${num(s.responses)} 份问卷支持`],
  ['satisfaction_rate', '家长满意率', (s) => `${num(s.satisfied)} / ${num(s.responses)} 份满意与基本满意`],
  ['attendance_rate', '出勤率', (s) => `${num(s.attended)} / ${num(s.attendance_marked)} 人次出勤`],
  ['five_day_rate', '五天全覆盖率', (s) => `${num(s.five_day)} / ${num(s.basic_participants)} 名基础托管学生`],
  ['teacher_participation_rate', '教师参与率', (s) => `${num(s.teachers_marking)} / ${num(s.teachers)} 名教师点过名`],
];

export const METRICS = {
  participation_rate: '学生参与率', coverage_rate: '学校覆盖率', fill_rate: '名额使用率',
  parent_support_rate: '家长支持率', satisfaction_rate: '家长满意率', attendance_rate: '出勤率',
  five_day_rate: '五天全覆盖率', teacher_participation_rate: '教师参与率',
  participants: '参与学生数', basic_participants: '基础托管人数', club_participants: '社团参与人数',
  waitlisted: '候补人数', responses: '问卷份数', schools_5plus2: '"5+2"达标学校数',
  sessions_held: '已开课节次', sessions_cancelled: '停课节次',
};
const isRate = (m) => m.endsWith('_rate');

function withRates(s) {
  return { ...s, rate_5plus2: s.schools ? s.schools_5plus2 / s.schools : null };
}

let prefetched = null;

/** prefetchOverview starts reading the caller's own overview before the
 * page asks for it (see app.js). */
export function prefetchOverview() {
  prefetched = api.get('/stats/overview', { date: today() });
  prefetched.catch(() => {});
}

/** latestOverview reads the scope's snapshot for today, or yesterday's when
 * today's is not computed yet. */
async function latestOverview(query) {
  const early = Object.keys(query).length === 0 ? prefetched : null;
  prefetched = null;
  try {
    if (early) return await early;
    return await api.get('/stats/overview', { ...query, date: today() });
  } catch (e) {
    if (e.code !== 'no_snapshot') throw e;
    return api.get('/stats/overview', { ...query, date: today(-1) });
  }
}

function figures(s) {
  s = withRates(s);
  const tone = (r) => (r === null || r === undefined ? 'none' : r >= 0.9 ? 'good' : r >= 0.7 ? 'warn' : 'bad');
  return h('div',
    h('div.grid.rates', RATES.map(([k, label, sub]) => stat(label, pct(s[k]),
      s[k] === null || s[k] === undefined ? `暂无数据（${sub(s)}）` : sub(s), tone(s[k])))),
    h('div.grid.counts',
      stat('学校', num(s.schools)), stat('在校学生', num(s.students)), stat('参与学生', num(s.participants)),
      stat('基础托管', num(s.basic_participants)), stat('社团参与', num(s.club_participants)),
      stat('社团', num(s.clubs), `${num(s.seats)} 个名额`), stat('名额使用率', pct(s.fill_rate), `已报 ${num(s.seats_filled)}`),
      stat('候补（未满足需求）', num(s.waitlisted), '人次', s.waitlisted > 0 ? 'warn' : null)));
}

// A day a rate has no data answers null: the line breaks there, the
// table shows "—".
function trendSeries(query, metric, from, to) {
  return api.get('/stats/trend', { ...query, metric, from, to });
}

function lineOption(series, rate) {
  const dates = [...new Set(series.flatMap((s) => s.points.map((p) => p.date)))].sort();
  return {
    tooltip: { trigger: 'axis', valueFormatter: (v) => (rate ? pct(v) : num(v)) },
    legend: { top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: dates, boundaryGap: false, axisLabel: { formatter: (d) => d.slice(5) } },
    yAxis: { type: 'value', scale: true, axisLabel: { formatter: (v) => (rate ? Math.round(v * 100) + '%' : num(v)) } },
    series: series.map((s) => {
      const by = new Map(s.points.map((p) => [p.date, p.value]));
      return { name: s.name, type: 'line', smooth: true, showSymbol: false, data: dates.map((d) => by.get(d) ?? null) };
    }),
  };
}

/** overviewOf draws a scope's overview into el (query: region_id or
 * school_id, or nothing for the caller's own scope). */
async function overviewOf(el, query, title) {
  const head = h('div.page-head', h('h1', title || '数据概览'), h('div.asof', '加载中…'));
  const body = h('div', loading());
  fill(el, head, body);
  let s;
  try {
    s = await latestOverview(query);
  } catch (e) {
    head.querySelector('.asof').remove(); // nothing is loading any more
    fill(body, errorBox(e));
    return null;
  }
  fill(head.querySelector('.asof'), `数据截至 ${s.as_of}`, h('span.muted', `（${dateTime(s.computed_at)} 统计）`));
  const trendBox = h('div.chart', { id: 'chart-trend' });
  const catBox = h('div.chart', { id: 'chart-category' });
  fill(body, figures(s), h('div.grid.two',
    card('近30天趋势', trendBox),
    card('社团名额与候补（按类别）', catBox)));
  performance.mark('kehou:figures');
  document.body.dataset.figures = 'shown';
  const from = today(-29), to = s.as_of;
  Promise.all(['participation_rate', 'attendance_rate', 'parent_support_rate'].map(async (m) =>
    ({ name: METRICS[m], points: await trendSeries(query, m, from, to) })))
    .then((series) => chart(trendBox, lineOption(series, true)))
    .then(() => { document.body.dataset.chart = 'drawn'; })
    .catch((e) => fill(trendBox, errorBox(e)));
  api.get('/stats/breakdown', { ...query, by: 'category', date: s.as_of })
    .then((b) => chart(catBox, categoryBars(b.items)))
    .catch((e) => fill(catBox, errorBox(e)));
  return s;
}

function categoryBars(items) {
  const cats = items.map((i) => CATEGORIES[i.category] || i.category);
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: cats },
    yAxis: { type: 'value' },
    series: [
      { name: '名额', type: 'bar', data: items.map((i) => i.seats), itemStyle: { color: '#b8c9e0' } },
      { name: '已报', type: 'bar', data: items.map((i) => i.seats_filled) },
      { name: '候补', type: 'bar', data: items.map((i) => i.waitlisted), itemStyle: { color: '#e6a23c' } },
    ],
  };
}

/** overview is the signed-in admin's own scope. */
export function overview(el, ctx) {
  return overviewOf(el, {}, ctx.me.role === 'school_admin' ? '本校概览' : '数据概览');
}

/** trends: chosen metrics over a date range, as a chart and a table. */
export function trends(el, ctx, query = {}) {
  const picked = new Set(['participation_rate', 'attendance_rate', 'satisfaction_rate']);
  let from = today(-29), to = today();
  const chartBox = h('div.chart.tall');
  const tableBox = h('div');
  const checks = h('div.checks', Object.entries(METRICS).map(([m, label]) => h('label.check',
    h('input', { type: 'checkbox', checked: picked.has(m), onchange: (e) => { e.target.checked ? picked.add(m) : picked.delete(m); draw(); } }),
    label)));
  fill(el, h('div.page-head', h('h1', '趋势分析'), dateRange(from, to, (f, t) => { from = f; to = t; draw(); })),
    card('指标', checks), card('趋势图', chartBox), card('每日数据', tableBox));
  async function draw() {
    fill(tableBox, loading());
    try {
      const ms = [...picked];
      const series = await Promise.all(ms.map(async (m) => ({ m, name: METRICS[m], points: await trendSeries(query, m, from, to) })));
      const rates = series.filter((s) => isRate(s.m));
      const counts = series.filter((s) => !isRate(s.m));
      const opt = lineOption(rates.length ? rates : counts, rates.length > 0);
      if (rates.length && counts.length) {
        opt.yAxis = [opt.yAxis, { type: 'value', scale: true, axisLabel: { formatter: (v) => num(v) } }];
        opt.series.push(...lineOption(counts, false).series.map((s) => ({ ...s, yAxisIndex: 1, lineStyle: { type: 'dashed' } })));
        opt.xAxis.data = [...new Set(series.flatMap((s) => s.points.map((p) => p.date)))].sort();
        opt.tooltip.valueFormatter = (v) => (v <= 1 ? pct(v) : num(v));
      }
      await chart(chartBox, opt);
      const dates = [...new Set(series.flatMap((s) => s.points.map((p) => p.date)))].sort().reverse();
      const rows = dates.map((d) => {
        const r = { date: d };
        for (const s of series) r[s.m] = s.points.find((p) => p.date === d)?.value;
        return r;
      });
      fill(tableBox, table([{ key: 'date', label: '日期' }, ...series.map((s) => ({
        key: s.m, label: s.name, num: true, pct: isRate(s.m), fmt: (v) => (isRate(s.m) ? pct(v) : num(v)),
      }))], rows, { exportName: `趋势-${from}-${to}`, empty: '该时间段没有统计快照' }));
    } catch (e) {
      fill(tableBox, errorBox(e));
    }
  }
  draw();
}

const SCHOOL_COLS = [
  { key: 'school_name', label: '学校' },
  { key: 'students', label: '在校学生', num: true, fmt: num },
  { key: 'participants', label: '参与学生', num: true, fmt: num },
  { key: 'participation_rate', label: '参与率', num: true, pct: true, fmt: (v) => pct(v) },
  { key: 'schools_5plus2', label: '"5+2"', fmt: (v, r) => (r.schools_offering ? (v ? h('span.tag.good', '达标') : h('span.tag.bad', '未达标')) : h('span.tag', '未开展')), xlsx: (r) => (r.schools_5plus2 ? '达标' : '未达标') },
  { key: 'clubs', label: '社团', num: true, fmt: num },
  { key: 'fill_rate', label: '名额使用率', num: true, pct: true, fmt: (v) => pct(v) },
  { key: 'waitlisted', label: '候补', num: true, fmt: num },
  { key: 'parent_support_rate', label: '支持率', num: true, pct: true, fmt: (v) => pct(v) },
  { key: 'satisfaction_rate', label: '满意率', num: true, pct: true, fmt: (v) => pct(v) },
  { key: 'attendance_rate', label: '出勤率', num: true, pct: true, fmt: (v) => pct(v) },
  { key: 'five_day_rate', label: '五天全覆盖', num: true, pct: true, fmt: (v) => pct(v) },
  { key: 'teacher_participation_rate', label: '教师参与率', num: true, pct: true, fmt: (v) => pct(v) },
];

async function latestSchools(query) {
  try {
    return await api.all('/stats/schools', { ...query, date: today() });
  } catch (e) {
    if (e.code !== 'no_snapshot') throw e;
    return api.all('/stats/schools', { ...query, date: today(-1) });
  }
}

async function schoolsTable(query) {
  const res = await latestSchools(query);
  const only = h('input', { type: 'checkbox' });
  const box = h('div');
  // The summary and the filter share the export button's row.
  const lead = [h('span.muted', `数据截至 ${res.as_of} · 共 ${res.items.length} 所学校 · 点击一行查看学校详情`),
    h('label.check', only, '只看"5+2"未达标')];
  const draw = () => fill(box, table(SCHOOL_COLS, only.checked ? res.items.filter((r) => !r.schools_5plus2) : res.items, {
    sortKey: 'participation_rate', sortDir: -1, lead,
    onRow: (r) => { location.hash = `#/school/${r.school_id}`; },
    serverExport: { path: '/stats/schools', query: { ...query, date: res.as_of, format: 'xlsx' } },
    rowClass: (r) => (r.schools_5plus2 ? null : 'row-warn'),
  }));
  only.addEventListener('change', draw);
  draw();
  return { res, node: box };
}

/** schools: the per-school table of the bureau's region. */
export async function schools(el) {
  fill(el, h('div.page-head', h('h1', '学校排行')), loading());
  const { node } = await schoolsTable({});
  fill(el, h('div.page-head', h('h1', '学校排行')), card(null, node));
}

/** schoolDetail: one school's overview, grades and trend (bureau drill-down). */
export async function schoolDetail(el, ctx) {
  const id = ctx.args[0];
  const s = await overviewOf(el, { school_id: id }, '学校详情');
  const name = await api.get(`/schools/${id}`).then((x) => x.name).catch(() => `学校 ${id}`);
  ctx.setTitle(name);
  el.querySelector('.page-head h1').textContent = name;
  if (!s) return;
  el.append(card('各年级', await gradeTable({ school_id: id }, s.as_of, `年级-${name}`)));
  el.prepend(h('a.back', { href: '#/schools' }, '← 返回学校排行'));
}

async function gradeTable(query, date, exportName) {
  const b = await api.get('/stats/breakdown', { ...query, by: 'grade', date });
  const items = b.items.filter((i) => i.grade > 0);
  const box = h('div.chart');
  const node = h('div', box, table([
    { key: 'grade', label: '年级', fmt: (g) => `${g}年级` },
    { key: 'students', label: '在校学生', num: true, fmt: num },
    { key: 'participants', label: '参与学生', num: true, fmt: num },
    { key: 'participation_rate', label: '参与率', num: true, pct: true, fmt: (v) => pct(v) },
    { key: 'basic_participants', label: '基础托管', num: true, fmt: num },
    { key: 'club_participants', label: '社团参与', num: true, fmt: num },
    { key: 'parent_support_rate', label: '支持率', num: true, pct: true, fmt: (v) => pct(v) },
    { key: 'satisfaction_rate', label: '满意率', num: true, pct: true, fmt: (v) => pct(v) },
    { key: 'attendance_rate', label: '出勤率', num: true, pct: true, fmt: (v) => pct(v) },
  ], items, { exportName }));
  chart(box, {
    tooltip: { trigger: 'axis', valueFormatter: (v) => pct(v) },
    legend: { top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: items.map((i) => `${i.grade}年级`) },
    yAxis: { type: 'value', max: 1, axisLabel: { formatter: (v) => Math.round(v * 100) + '%' } },
    series: [
      { name: '参与率', type: 'bar', data: items.map((i) => i.participation_rate) },
      { name: '出勤率', type: 'bar', data: items.map((i) => i.attendance_rate) },
    ],
  });
  return node;
}

async function categoryTable(query, date, exportName) {
  const b = await api.get('/stats/breakdown', { ...query, by: 'category', date });
  const box = h('div.chart');
  const node = h('div', box, table([
    { key: 'category', label: '类别', fmt: (c) => CATEGORIES[c] || c, xlsx: (r) => CATEGORIES[r.category] || r.category },
    { key: 'clubs', label: '社团数', num: true, fmt: num },
    { key: 'seats', label: '名额', num: true, fmt: num },
    { key: 'seats_filled', label: '已报', num: true, fmt: num },
    { key: 'fill_rate', label: '使用率', num: true, pct: true, fmt: (v) => pct(v) },
    { key: 'waitlisted', label: '候补', num: true, fmt: num },
    { key: 'club_participants', label: '参与学生', num: true, fmt: num },
  ], b.items, { exportName, sortKey: 'seats', sortDir: -1 }));
  chart(box, categoryBars(b.items));
  return { node, items: b.items };
}

/** breakdown: the region's figures by grade and by club category. */
export async function breakdown(el) {
  fill(el, h('div.page-head', h('h1', '年级与类别')), loading());
  const s = await latestOverview({});
  fill(el, h('div.page-head', h('h1', '年级与类别'), h('div.asof', `数据截至 ${s.as_of}`)),
    card('按年级', await gradeTable({}, s.as_of, `按年级-${s.as_of}`)),
    card('按社团类别', (await categoryTable({}, s.as_of, `按类别-${s.as_of}`)).node));
}

/** demand: unmet demand — waitlisted seats by category and by school. */
export async function demand(el) {
  fill(el, h('div.page-head', h('h1', '未满足需求')), loading());
  const s = await latestOverview({});
  const b = await api.get('/stats/breakdown', { by: 'category', date: s.as_of });
  const items = b.items.filter((i) => i.waitlisted > 0).sort((x, y) => y.waitlisted - x.waitlisted);
  const pie = h('div.chart');
  const res = await latestSchools({});
  const bySchool = res.items.filter((r) => r.waitlisted > 0);
  fill(el, h('div.page-head', h('h1', '未满足需求'), h('div.asof', `数据截至 ${s.as_of}`)),
    h('div.grid.counts', stat('候补人次', num(s.waitlisted), '报名已满、正在候补', s.waitlisted ? 'warn' : null),
      stat('社团名额', num(s.seats)), stat('名额使用率', pct(s.fill_rate)),
      stat('有候补的学校', num(bySchool.length), `共 ${num(s.schools)} 所`)),
    h('div.grid.two',
      card('候补人数（按类别）', pie),
      card('各类别供需', table([
        { key: 'category', label: '类别', fmt: (c) => CATEGORIES[c] || c, xlsx: (r) => CATEGORIES[r.category] || r.category },
        { key: 'seats', label: '名额', num: true, fmt: num },
        { key: 'waitlisted', label: '候补', num: true, fmt: num },
        { key: 'demand', label: '需求/名额', num: true, pct: true, fmt: (v) => pct(v, 0), sort: (r) => (r.seats_filled + r.waitlisted) / (r.seats || 1), xlsx: (r) => (r.seats_filled + r.waitlisted) / (r.seats || 1) },
      ], items.map((i) => ({ ...i, demand: (i.seats_filled + i.waitlisted) / (i.seats || 1) })), { exportName: `候补-按类别-${s.as_of}` }))),
    card('各校候补', table(SCHOOL_COLS.filter((c) => ['school_name', 'clubs', 'fill_rate', 'waitlisted', 'participation_rate'].includes(c.key)),
      bySchool, { sortKey: 'waitlisted', sortDir: -1, exportName: `候补-按学校-${s.as_of}`, onRow: (r) => { location.hash = `#/school/${r.school_id}`; } })));
  chart(pie, {
    tooltip: { trigger: 'item', formatter: '{b}：{c} 人（{d}%）' },
    legend: { bottom: 0 },
    series: [{ type: 'pie', radius: ['40%', '68%'], center: ['50%', '45%'],
      data: items.map((i) => ({ name: CATEGORIES[i.category] || i.category, value: i.waitlisted })) }],
  });
}

/** regions: the region tree of the bureau (a city or province sees its
 * districts); each region drills down. */
export async function regions(el) {
  fill(el, h('div.page-head', h('h1', '行政区划')), loading());
  const res = await api.all('/regions');
  const items = res.items;
  const top = Math.min(...items.map((r) => r.level));
  const kids = new Map();
  for (const r of items) {
    const k = r.parent_id ?? 0;
    if (!kids.has(k)) kids.set(k, []);
    kids.get(k).push(r);
  }
  const ids = new Set(items.map((r) => r.id));
  const roots = items.filter((r) => r.level === top || !ids.has(r.parent_id));
  const total = (r) => r.schools + (kids.get(r.id) || []).reduce((n, k) => n + total(k), 0);
  const node = (r) => h('li',
    h('a.tree-item', { href: `#/region/${r.id}` }, h('span.tree-name', r.name), h('span.muted', ` ${r.code}`),
      h('span.tag', `${total(r)} 所学校`)),
    kids.has(r.id) ? h('ul', kids.get(r.id).map(node)) : null);
  const compare = h('div', loading());
  fill(el, h('div.page-head', h('h1', '行政区划')), card('辖区', h('ul.tree', roots.map(node))),
    card('下级区域对比', compare));
  // Each subregion's overview, side by side (the regions one level under
  // the top ones; a county admin sees its own).
  let subs = items.filter((r) => roots.some((x) => x.id === r.parent_id)).slice(0, 60);
  if (!subs.length) subs = roots;
  const rows = await Promise.all(subs.map(async (r) => {
    const o = await latestOverview({ region_id: r.id }).catch(() => null);
    return o ? { ...withRates(o), id: r.id, name: r.name } : { id: r.id, name: r.name };
  }));
  fill(compare, table([
    { key: 'name', label: '区域' },
    { key: 'schools', label: '学校', num: true, fmt: num },
    { key: 'students', label: '在校学生', num: true, fmt: num },
    { key: 'participation_rate', label: '参与率', num: true, pct: true, fmt: (v) => pct(v) },
    { key: 'rate_5plus2', label: '"5+2"达标率', num: true, pct: true, fmt: (v) => pct(v) },
    { key: 'parent_support_rate', label: '支持率', num: true, pct: true, fmt: (v) => pct(v) },
    { key: 'satisfaction_rate', label: '满意率', num: true, pct: true, fmt: (v) => pct(v) },
    { key: 'attendance_rate', label: '出勤率', num: true, pct: true, fmt: (v) => pct(v) },
    { key: 'waitlisted', label: '候补', num: true, fmt: num },
  ], rows, { exportName: '区域对比', onRow: (r) => { location.hash = `#/region/${r.id}`; } }));
}

/** regionDetail: one region's overview and its schools. */
export async function regionDetail(el, ctx) {
  const id = ctx.args[0];
  const res = await api.all('/regions');
  const r = res.items.find((x) => String(x.id) === id);
  const name = r ? r.name : `区域 ${id}`;
  ctx.setTitle(name);
  const s = await overviewOf(el, { region_id: id }, name);
  el.prepend(h('a.back', { href: '#/regions' }, '← 返回行政区划'));
  if (!s) return;
  const { node } = await schoolsTable({ region_id: id });
  el.append(card('辖区学校', node));
}
