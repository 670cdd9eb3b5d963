// ui.js: the console's building blocks. Every text goes in through
// textContent (never innerHTML), so a name from a roster file cannot become
// markup.
import { ApiError, download } from './api.js';
import { xlsxBlob } from './xlsx.js';

/** h builds an element: h('div.card', {onclick}, child, 'text', …). */
export function h(tag, attrs, ...kids) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs !== undefined && attrs !== null && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    kids.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && k !== 'list') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else el.append(k instanceof Node ? k : String(k));
  }
}

/** clear empties an element and fills it with kids. */
export function fill(el, ...kids) {
  el.replaceChildren();
  append(el, kids);
  return el;
}

// Formats, zh-CN.
const nf = new Intl.NumberFormat('zh-CN');
export const num = (n) => (n === undefined || n === null ? '—' : nf.format(n));
export const pct = (r, digits = 1) => (r === undefined || r === null ? '—' : (r * 100).toFixed(digits) + '%');
export const yuan = (fen) => (fen ? '¥' + (fen / 100).toFixed(2) : '免费');
/** money formats fen as yuan with thousands ("¥1,234.50"); 0 is "¥0.00". */
export const money = (fen) => '¥' + (Number(fen || 0) / 100).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
/** BILLING names a fee's unit: 元/学期, 元/月, 元/次. */
export const BILLING = { term: '学期', month: '月', session: '次' };
/** price is an offering's fee with its unit ("¥3.00/次"), or 免费. */
export const price = (fen, billing) => (fen ? `${money(fen)}/${BILLING[billing] || BILLING.term}` : '免费');

/** today is the date in Asia/Shanghai, YYYY-MM-DD. */
export function today(offsetDays = 0) {
  const d = new Date(Date.now() + offsetDays * 86400000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(d);
}

/** dateTime shows an RFC 3339 instant in Beijing time. */
export function dateTime(s) {
  if (!s) return '—';
  return new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  }).format(new Date(s));
}

export const WEEKDAYS = ['', '周一', '周二', '周三', '周四', '周五', '周六', '周日'];
export const CATEGORIES = {
  homework: '作业辅导', sports: '体育', arts: '美术', music: '音乐', science: '科技', reading: '阅读',
  handcraft: '手工', labor: '劳动', thinking: '思维', other: '其他',
};
export const STATUS = {
  draft: '草稿', published: '已发布', closed: '已截止', cancelled: '已取消',
  enrolled: '已录取', waitlisted: '候补', applied: '已报名（待抽签）', pending_payment: '待缴费',
  withdrawn: '已退出', rejected: '未中签', scheduled: '正常', present: '出勤', absent: '缺勤', leave: '请假', late: '迟到',
};
/** ORDER_STATUS names an order's status (derived from its ledger) and the
 * tone of its tag. */
export const ORDER_STATUS = {
  unpaid: ['待缴费', 'warn'], paid: ['已缴费', 'good'], partially_refunded: ['部分退费', 'closed'],
  refunded: ['已退费', 'closed'], waived: ['已减免', 'good'], closed: ['已关闭', ''],
};
export const orderTag = (s) => h('span.tag' + (ORDER_STATUS[s]?.[1] ? '.' + ORDER_STATUS[s][1] : ''), ORDER_STATUS[s]?.[0] || s);
export const status = (s) => STATUS[s] || s || '—';

/** card is a titled panel. */
export function card(title, ...body) {
  const head = title ? h('div.card-head', typeof title === 'string' ? h('h2', title) : title) : null;
  return h('section.card', head, h('div.card-body', ...body));
}

/** stat is a big figure with its label and a line under it. */
export function stat(label, value, sub, tone) {
  return h('div.stat' + (tone ? '.' + tone : ''), h('div.stat-label', label), h('div.stat-value', value),
    sub ? h('div.stat-sub', sub) : null);
}

// FIELD_LABELS are the Chinese names of the API's fields, for the lines of
// a 422 (a secretary reads "新密码：至少8位", not "new_password：…").
export const FIELD_LABELS = {
  username: '用户名', password: '密码', new_password: '新密码', old_password: '原密码', display_name: '姓名',
  role: '角色', school_id: '学校', region_id: '区域', parent_id: '上级区域', code: '代码', name: '名称',
  term_id: '学期', kind: '类型', category: '类别', description: '简介', teacher: '教师', teacher_user_id: '点名教师',
  venue: '地点', weekdays: '上课日', start_time: '开始时间', end_time: '结束时间', capacity: '名额',
  grades: '年级', fee_fen: '费用', mode: '报名方式', waitlist: '候补', enroll_opens_at: '报名开始',
  enroll_closes_at: '报名截止', starts_on: '开始日期', ends_on: '结束日期', max_clubs: '每人社团上限',
  no_service_days: '停课日', extra_days: '调休上课日', reason: '原因', records: '名单', status: '状态',
  student_id: '学生', offering_id: '项目', offering_ids: '项目', from: '开始日期', to: '结束日期', date: '日期',
  month: '月份', title: '标题', comment: '意见', opens_at: '开始时间', closes_at: '截止时间', file: '文件',
  rank: '志愿顺序', metric: '指标', by: '分组', refresh_token: '登录凭证', body: '请求内容',
  amount_fen: '金额', method: '缴费方式', ref: '凭证号', paid_at: '缴费日期', q: '搜索', billing: '计费方式',
  fee_waiver: '减免', waiver_reason: '减免原因',
};

/** fieldLabel is a field's Chinese name ("" for a field without one: the
 * message then stands alone rather than showing the raw key). */
export const fieldLabel = (k) => FIELD_LABELS[k] || '';

/** errorBox shows an API error: its message as the API wrote it and, for a
 * 422, each field's problem under the field's Chinese name. The request id
 * is shown only for a server failure (5xx), where support needs it to find
 * the log; a refusal explains itself. */
export function errorBox(err) {
  if (err instanceof ApiError) {
    const fields = err.fields ? Object.entries(err.fields).map(([k, v]) => {
      const label = fieldLabel(k);
      return h('li', label ? `${label}：${v}` : v);
    }) : [];
    const support = err.status >= 500 && err.requestId ? h('div.muted.small', `请求编号 ${err.requestId}（联系技术支持时请提供）`) : null;
    return h('div.alert.error', { title: err.code }, h('strong', err.message), fields.length ? h('ul', fields) : null, support);
  }
  return h('div.alert.error', h('strong', '出错了：'), String(err && err.message ? err.message : err));
}

let toastTimer;
/** toast shows a short message at the top of the page. */
export function toast(msg, tone = 'ok') {
  let el = document.getElementById('toast');
  if (!el) { el = h('div'); el.id = 'toast'; el.setAttribute('role', 'status'); document.body.append(el); }
  el.className = 'toast ' + tone;
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 3500);
}

/** guard runs an action, showing its error as a toast. */
export async function guard(fn, okMsg) {
  try {
    const r = await fn();
    if (okMsg) toast(okMsg);
    return r;
  } catch (e) {
    toast(e.message || String(e), 'error');
    throw e;
  }
}

/** table builds a sortable table. cols: [{key, label, fmt?, num?, sort?,
 * xlsx?, xlsxOnly?, pct?}],
 * rows: objects; opts.onRow(row) makes rows clickable; opts.exportName adds
 * an 导出Excel button that saves the rows as shown (opts.serverExport: one
 * that downloads the server's file); opts.lead are nodes (a summary, a
 * filter) shown on the buttons' row, on its left. */
export function table(allCols, rows, opts = {}) {
  // A column marked xlsxOnly is in the export, not on screen.
  const cols = allCols.filter((c) => !c.xlsxOnly);
  let sortKey = opts.sortKey || null;
  let dir = opts.sortDir || 1;
  const tbody = h('tbody');
  const heads = cols.map((c) => {
    const th = h('th' + (c.num ? '.num' : ''), { title: '点击排序' }, c.label, h('span.sort'));
    th.addEventListener('click', () => {
      if (sortKey === c.key) dir = -dir; else { sortKey = c.key; dir = c.num ? -1 : 1; }
      render();
    });
    return th;
  });
  const value = (c, r) => (c.sort ? c.sort(r) : r[c.key]);
  function render() {
    const list = rows.slice();
    const c = cols.find((x) => x.key === sortKey);
    if (c) {
      list.sort((a, b) => {
        const x = value(c, a), y = value(c, b);
        // No data ("—") sorts last whichever the direction.
        const nx = x === null || x === undefined, ny = y === null || y === undefined;
        if (nx || ny) return nx === ny ? 0 : nx ? 1 : -1;
        if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
        return String(x ?? '').localeCompare(String(y ?? ''), 'zh-CN') * dir;
      });
    }
    heads.forEach((th, i) => {
      th.lastChild.textContent = cols[i].key === sortKey ? (dir > 0 ? ' ▲' : ' ▼') : '';
    });
    fill(tbody, list.length ? list.map((r) => {
      const tr = h('tr', cols.map((col) => {
        const v = col.fmt ? col.fmt(r[col.key], r) : r[col.key];
        return h('td' + (col.num ? '.num' : ''), v instanceof Node ? v : (v ?? '—'));
      }));
      if (opts.onRow) { tr.classList.add('link'); tr.addEventListener('click', () => opts.onRow(r)); }
      if (opts.rowClass) { const k = opts.rowClass(r); if (k) tr.classList.add(k); }
      return tr;
    }) : h('tr', h('td.empty', { colSpan: cols.length }, opts.empty || '暂无数据')));
    current = list;
  }
  let current = rows;
  render();
  const tools = [];
  if (opts.exportName) {
    tools.push(h('button.btn.ghost', {
      type: 'button', onclick: () => saveXlsx(opts.exportName, allCols, current),
    }, '导出 Excel'));
  }
  if (opts.serverExport) {
    tools.push(h('button.btn.ghost', {
      type: 'button', onclick: () => guard(() => download(opts.serverExport.path, opts.serverExport.query)),
    }, '导出 Excel'));
  }
  const lead = opts.lead || [];
  return h('div.table-wrap', tools.length || lead.length ? h('div.table-tools' + (lead.length ? '.toolbar' : ''), lead, tools) : null,
    h('div.table-scroll', h('table.data', h('thead', h('tr', heads)), tbody)));
}

/** saveXlsx writes rows (as the table shows them) to an .xlsx download;
 * a column with xlsx: false (its buttons) is left out, one with pct: true
 * (a ratio the table shows as a percentage) is formatted 0.0%. */
export function saveXlsx(name, allCols, rows) {
  const cols = allCols.filter((c) => c.xlsx !== false);
  const cells = [cols.map((c) => c.label)];
  for (const r of rows) {
    cells.push(cols.map((c) => {
      const v = c.xlsx ? c.xlsx(r) : r[c.key];
      return typeof v === 'number' ? v : (v ?? '');
    }));
  }
  const pct = cols.flatMap((c, j) => (c.pct ? [j] : []));
  const a = h('a', { href: URL.createObjectURL(xlsxBlob(cells, pct)), download: name + '.xlsx' });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

let echartsLoading = null;
/** charts loads ECharts (vendored, same origin) the first time a page
 * draws a chart; pages without charts never download it. */
export function charts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!echartsLoading) {
    echartsLoading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = document.body.dataset.echarts;
      s.onload = () => resolve(window.echarts);
      s.onerror = () => reject(new Error('图表组件加载失败'));
      document.head.append(s);
    });
  }
  return echartsLoading;
}

const palette = ['#1f4e8c', '#2f9e8f', '#e6a23c', '#c0504d', '#7b61c4', '#4a9bd6', '#8c9bab', '#d9822b'];

/** chart draws an ECharts option into el and keeps it sized with el. */
export async function chart(el, option) {
  const ec = await charts();
  // A page may build a chart's box before putting it on screen: wait for it
  // (a box that never arrives, on a page left meanwhile, is dropped).
  for (let i = 0; !el.isConnected && i < 100; i++) await new Promise((r) => setTimeout(r, 20));
  if (!el.isConnected) return null;
  const c = ec.getInstanceByDom(el) || ec.init(el, null, { renderer: 'canvas', locale: 'ZH' });
  c.setOption({ color: palette, textStyle: { fontFamily: 'inherit' }, animationDuration: 300, ...option }, true);
  new ResizeObserver(() => c.resize()).observe(el);
  return c;
}

/** dateRange is a pair of date inputs with a button; onChange(from, to). */
export function dateRange(from, to, onChange) {
  const f = h('input', { type: 'date', value: from, max: today() });
  const t = h('input', { type: 'date', value: to, max: today() });
  const quick = (days) => h('button.btn.ghost.small', {
    type: 'button', onclick: () => { f.value = today(-days + 1); t.value = today(); onChange(f.value, t.value); },
  }, `近${days}天`);
  return h('div.range', h('label', '从 ', f), h('label', '至 ', t),
    h('button.btn.small', { type: 'button', onclick: () => onChange(f.value, t.value) }, '查询'),
    quick(7), quick(30), quick(90));
}

/** loading is the placeholder of a panel still waiting for the API. */
export const loading = () => h('div.loading', '加载中…');

/** modal opens a dialog with content; it answers a close function. */
export function modal(title, content) {
  // One dialog at a time: a dialog opened from another (退费 from an
  // order's ledger) takes its place, and closing it shows the first again.
  const under = [...document.querySelectorAll('.modal-back')].find((m) => !m.hidden);
  if (under) under.hidden = true;
  const close = () => {
    back.remove();
    if (under && under.isConnected) under.hidden = false;
  };
  const back = h('div.modal-back', h('div.modal', { role: 'dialog' },
    h('div.modal-head', h('h2', title), h('button.btn.ghost.small', { type: 'button', onclick: close }, '关闭')),
    h('div.modal-body', content)));
  back.addEventListener('click', (e) => { if (e.target === back) close(); });
  document.body.append(back);
  return close;
}
