// fees_orders.js: a school's orders (GET /schools/{id}/orders: by status,
// term and student, newest first, paged), one order's ledger (GET
// /orders/{id}), and the two things a school admin does with money: record
// a payment made outside kehou (POST /orders/{id}/payments, with the day it
// was paid) and refund part of an order (POST /orders/{id}/refunds, never
// above what is refundable). After either, the page's figures and list are
// read again (onChange).
import * as api from './api.js';
import {
  h, fill, table, loading, errorBox, toast, modal, dateTime, today, money, BILLING, ORDER_STATUS, orderTag,
} from './ui.js';

const WAIVERS = { none: '无', half: '减半', full: '全免' };
const KINDS = { charge: '应收', waiver: '减免', credit: '停课抵扣', void: '作废', payment: '缴费', refund: '退费' };
const METHODS = { bank: '银行转账', cash: '现金', platform: '政府收费平台', wechat: '微信支付' };
// A refund through WeChat Pay, on its way back to the family.
const WX_REFUND = { pending: '待发送', processing: '退款中', success: '已到账', failed: '失败' };

/** wxRefund says where a refund row's money is, when WeChat Pay moves it. */
function wxRefund(r) {
  const s = `微信原路退回 · ${WX_REFUND[r.status] || r.status}`;
  return r.status === 'failed' && r.last_error ? `${s}：${r.last_error}` : s;
}
// The reasons rows made by rule carry (settleWithdrawal's keys), in the
// words models/order_notify.go's refundReasons gives the family; a void
// says why the bill was dropped. Anything else is what a person wrote.
const REASONS = {
  withdraw: { refund: '退出项目，按退费规则退还', void: '退出项目，待缴作废' },
  cancel: { refund: '学校取消项目，按未上课次退还', void: '学校取消项目，待缴作废' },
  unpaid: { refund: '到期未缴，名额释放', void: '到期未缴，名额释放' },
};
const reasonText = (v, m) => (m.kind === 'waiver' ? WAIVERS[v] || v : REASONS[v]?.[m.kind] || REASONS[v]?.refund || v) || '—';
// The ledger's kinds that take money off what the family owes or has.
const MINUS = new Set(['waiver', 'credit', 'void', 'refund']);

/** due is what an order of the list asks the family for: an unpaid one's
 * owed_fen (the bill less what cancelled sessions took off, as GET
 * /orders/{id} says it), otherwise the bill. */
const due = (o) => (o.status === 'unpaid' && o.owed_fen != null ? o.owed_fen : o.amount_fen - (o.credited_fen || 0));

/** ordersPanel is the school's list of orders with its filters; opts.termID
 * and opts.onChange (after a payment or a refund). It answers the panel
 * with a reload() to call when the term changes. */
export function ordersPanel(schoolID, opts) {
  const f = { status: opts.status || '', q: '', termID: opts.termID || '' };
  const status = h('select', { 'aria-label': '订单状态', onchange: () => { f.status = status.value; load(); } },
    h('option', { value: '' }, '全部状态'),
    Object.entries(ORDER_STATUS).map(([k, [label]]) => h('option', { value: k, selected: k === f.status }, label)));
  let timer;
  const search = h('input', {
    type: 'search', placeholder: '搜索学生姓名或学号', maxLength: 40, 'aria-label': '搜索学生',
    oninput: () => { clearTimeout(timer); timer = setTimeout(() => { f.q = search.value.trim(); load(); }, 300); },
  });
  const summary = h('span.muted.small');
  const box = h('div', loading());
  const more = h('div.more');
  const panel = h('div.orders', h('div.filters', status, search, summary), box, more);
  let rows = [];
  let seq = 0;

  async function load(cursor) {
    const mine = ++seq; // a slower earlier answer never overwrites a newer one
    if (!cursor) { rows = []; fill(box, loading()); }
    fill(more);
    try {
      const res = await api.get(`/schools/${schoolID}/orders`, {
        status: f.status || undefined, q: f.q || undefined, term_id: f.termID || undefined, limit: 100, cursor,
      });
      if (mine !== seq) return;
      rows = rows.concat(res.items);
      render();
      summary.textContent = `已显示 ${rows.length} 笔${res.next_cursor ? '，还有更多' : ''}`;
      if (res.next_cursor) {
        fill(more, h('button.btn.ghost', { type: 'button', onclick: () => load(res.next_cursor) }, '加载更多'));
      }
    } catch (e) {
      if (mine === seq) fill(box, errorBox(e));
    }
  }

  function render() {
    const after = () => { load(); opts.onChange?.(); };
    fill(box, table([
      { key: 'student_name', label: '学生', fmt: (n, o) => h('div.who', h('div', n), h('div.muted.small', o.student_no)), xlsx: (o) => `${o.student_name}（${o.student_no}）` },
      { key: 'status', label: '状态', fmt: (s) => orderTag(s), xlsx: (o) => ORDER_STATUS[o.status]?.[0] || o.status },
      { key: 'offering_name', label: '课程' },
      { key: 'amount_fen', label: '应缴', num: true, fmt: (v, o) => h('div', money(due(o)),
        o.waiver !== 'none' ? h('div.muted.small', `减免：${WAIVERS[o.waiver] || o.waiver}`) : null,
        o.credited_fen ? h('div.muted.small', `停课抵扣 ${money(o.credited_fen)}`) : null), xlsx: (o) => due(o) / 100 },
      { key: 'paid_fen', label: '已缴', num: true, fmt: money, xlsx: (o) => o.paid_fen / 100 },
      { key: 'refunded_fen', label: '已退', num: true, fmt: (v) => (v ? money(v) : '—'), xlsx: (o) => o.refunded_fen / 100 },
      { key: 'hold_expires_at', label: '保留至', fmt: (v) => (v ? dateTime(v) : '—'), xlsx: (o) => (o.hold_expires_at ? dateTime(o.hold_expires_at) : '') },
      { key: 'id', label: '操作', xlsx: false, fmt: (_, o) => h('div.actions',
        o.status === 'unpaid' ? h('button.btn.small', { type: 'button', onclick: (e) => { e.stopPropagation(); recordPayment(o, after); } }, '登记缴费') : null,
        o.refundable_fen > 0 ? h('button.btn.small.ghost', { type: 'button', onclick: (e) => { e.stopPropagation(); refund(o, after); } }, '退费') : null) },
    ], rows, {
      exportName: '订单', empty: f.q || f.status ? '没有符合条件的订单' : '本学期还没有订单',
      onRow: (o) => orderDialog(o, after),
    }));
  }

  load();
  return {
    panel,
    reload: (termID) => { f.termID = termID; load(); },
    // show lists the orders of one status (a figure clicked).
    show: (s) => { f.status = status.value = s; load(); panel.scrollIntoView({ block: 'start' }); },
  };
}

/** orderDialog shows one order: its bill, its sums and its ledger, with
 * the actions its state allows. */
export async function orderDialog(o, after) {
  const body = h('div', loading());
  const close = modal(`订单 ${o.id} · ${o.student_name || ''}`, body);
  let d;
  try {
    d = await api.get(`/orders/${o.id}`);
  } catch (e) {
    fill(body, errorBox(e));
    return;
  }
  const row = { ...o, amount_fen: d.amount_fen, credited_fen: d.credited_fen, owed_fen: d.owed_fen, refundable_fen: d.refundable_fen, status: d.status };
  // After a payment or a refund (each in a dialog of its own, in this
  // one's place), the order is shown again as it now stands.
  const done = () => { close(); after?.(); orderDialog(o, after); };
  fill(body,
    h('dl.info',
      h('dt', '学生'), h('dd', `${o.student_name || '—'}${o.student_no ? `（${o.student_no}）` : ''}`),
      h('dt', '课程'), h('dd', o.offering_name || `#${d.offering_id}`),
      h('dt', '计费'), h('dd', `${money(d.unit_fen)}/${BILLING[d.billing] || d.billing} · ${d.sessions} 次课，自 ${d.bills_from} 起计`),
      h('dt', '应收'), h('dd', money(d.gross_fen), d.waiver_fen ? h('span.muted', `（减免 ${money(d.waiver_fen)}，${WAIVERS[d.waiver] || d.waiver}）`) : null),
      h('dt', '应缴'), h('dd', h('strong', money(d.amount_fen - (d.credited_fen || 0))),
        d.credited_fen ? h('span.muted', `（原 ${money(d.amount_fen)}，停课抵扣 ${money(d.credited_fen)}）`) : null),
      h('dt', '状态'), h('dd', orderTag(d.status)),
      h('dt', '已缴 / 已退'), h('dd', `${money(d.paid_fen)} / ${money(d.refunded_fen)}`),
      h('dt', '待缴'), h('dd', money(d.owed_fen))),
    d.ledger.some((m) => m.wechat_refund?.status === 'failed')
      ? h('div.alert.error', '有一笔微信退款被微信支付拒绝，钱没有退回家长：请核实原因后由学校线下退还。')
      : null,
    h('h3.sub', '收费台账'),
    table([
      // A payment recorded by the school is dated by its slip: the day only.
      { key: 'occurred_at', label: '时间', fmt: (v, m) => (m.kind === 'payment' && m.method !== 'wechat' ? dateTime(v).slice(0, 10) : dateTime(v)) },
      { key: 'kind', label: '类型', fmt: (k) => KINDS[k] || k },
      { key: 'amount_fen', label: '金额', num: true, fmt: (v, m) => (MINUS.has(m.kind) ? '−' : '') + money(v) },
      { key: 'method', label: '方式 / 凭证', fmt: (v, m) => (m.wechat_refund ? wxRefund(m.wechat_refund) : v ? `${METHODS[v] || v}${m.ref ? ' · ' + m.ref : ''}` : '—') },
      { key: 'reason', label: '原因', fmt: reasonText },
    ], d.ledger, { empty: '台账为空' }),
    h('div.form-actions',
      d.owed_fen > 0 ? h('button.btn', { type: 'button', onclick: () => recordPayment({ ...row, owed_fen: d.owed_fen }, done) }, '登记缴费') : null,
      row.refundable_fen > 0 ? h('button.btn.ghost', { type: 'button', onclick: () => refund(row, done) }, '退费') : null));
}

/** fieldErrors puts a refused request's messages beside the fields they
 * name (errs: field → the element under it); what names no field goes to
 * rest. The first field with a message is focused. */
function fieldErrors(e, errs, rest, inputs, byCode = {}) {
  Object.values(errs).forEach((el) => fill(el));
  fill(rest);
  const named = { ...(e.fields || {}) };
  if (byCode[e.code]) named[byCode[e.code]] = e.message;
  let first = null;
  for (const [k, msg] of Object.entries(named)) {
    if (errs[k]) { fill(errs[k], msg); first = first || k; } else fill(rest, errorBox(e));
  }
  if (!Object.keys(named).length) fill(rest, errorBox(e));
  if (first && inputs[first]) inputs[first].focus();
}

/** idempotencyKey names one refund the admin asked for: sent again (a
 * retry after a lost answer, a double click) it refunds once. */
function idempotencyKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return 'console-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// yuanToFen reads an amount in yuan; full-width digits and point (a
// Chinese input method's "１２．５", or "12。5") count as the ASCII ones.
const yuanToFen = (s) => {
  const ascii = s.replace(/[０-９．]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xFEE0)).replace(/。/g, '.');
  const m = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(ascii);
  return m ? Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0')) : NaN;
};

/** recordPayment asks for the method, the slip number and the day it was
 * paid, then records the order as paid (POST /orders/{id}/payments). */
export function recordPayment(o, after) {
  const method = h('select', { name: 'method' }, Object.entries(METHODS).filter(([k]) => k !== 'wechat').map(([k, l]) => h('option', { value: k }, l)));
  const ref = h('input', { type: 'text', name: 'ref', maxLength: 64, placeholder: '银行回单号、收据号或平台流水号', required: true });
  // The order's day (Beijing) is the earliest a payment may be dated.
  const billed = o.created_at ? new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date(o.created_at)) : '';
  const day = h('input', { type: 'date', name: 'paid_at', value: today(), max: today(), min: billed || undefined, required: true });
  const errs = { method: h('div.field-error'), ref: h('div.field-error'), paid_at: h('div.field-error') };
  const rest = h('div');
  const submit = h('button.btn', { type: 'submit' }, '确认已缴费');
  const form = h('form.form',
    h('p', `${o.student_name} · ${o.offering_name} · 应缴 `, h('strong.owed', money(o.owed_fen ?? o.amount_fen)),
      o.credited_fen ? h('span.muted', `（已扣除停课 ${money(o.credited_fen)}）`) : null),
    h('div.form-grid',
      h('label', '缴费方式', method, errs.method), h('label', '缴费日期', day, errs.paid_at),
      h('label.wide', '凭证号', ref, errs.ref)),
    h('p.muted.small', '登记后名额转为正式报名，学生从当天起进入点名册；缴费日期按凭证填写（北京时间）。'),
    rest, h('div.form-actions', submit));
  const close = modal('登记缴费', form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    // Today is recorded as now; an earlier day as its start (Beijing
    // time), or the order's making on the order's own day: the server
    // refuses a payment dated before its order.
    const start = new Date(`${day.value}T00:00:00+08:00`);
    const made = o.created_at ? new Date(o.created_at) : start;
    const paidAt = day.value === today() ? new Date().toISOString() : (day.value === billed && start < made ? made : start).toISOString();
    submit.disabled = true;
    try {
      await api.post(`/orders/${o.id}/payments`, { method: method.value, ref: ref.value.trim(), paid_at: paidAt });
    } catch (e2) {
      fieldErrors(e2, errs, rest, { method, ref, paid_at: day });
      return;
    } finally {
      submit.disabled = false;
    }
    close();
    toast('已登记缴费，名额已转为正式报名');
    after?.();
  });
}

/** refund asks for an amount (yuan, never above what is refundable) and a
 * reason, then refunds that part of the order (POST /orders/{id}/refunds).
 * The server's refusals show beside the field they concern. */
export function refund(o, after) {
  const max = o.refundable_fen;
  const amount = h('input', { type: 'text', name: 'amount_fen', inputMode: 'decimal', placeholder: `最多 ${(max / 100).toFixed(2)}`, required: true, autocomplete: 'off' });
  const reason = h('textarea', { name: 'reason', rows: 2, maxLength: 200, placeholder: '如：停课两次，按次退还', required: true });
  const errs = { amount_fen: h('div.field-error'), reason: h('div.field-error') };
  const rest = h('div');
  const key = idempotencyKey();
  const submit = h('button.btn.danger', { type: 'submit' }, '确认退费');
  const form = h('form.form',
    h('p', `${o.student_name} · ${o.offering_name} · 已缴 ${money(o.paid_fen ?? o.amount_fen)}，可退 `, h('strong', money(max))),
    h('label', '退费金额（元）', h('div.with-button', amount,
      h('button.btn.ghost.small', { type: 'button', onclick: () => { amount.value = (max / 100).toFixed(2); } }, '全部可退')), errs.amount_fen),
    h('label', '退费原因（家长可见）', reason, errs.reason),
    h('p.muted.small', '微信支付的订单原路退回，其他方式由学校线下退还；退费写入收费台账，不能撤销。'),
    rest, h('div.form-actions', submit));
  const close = modal('退费', form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const fen = yuanToFen(amount.value);
    fill(errs.amount_fen);
    if (fen === 0) { fill(errs.amount_fen, '退费金额须大于 0'); amount.focus(); return; }
    if (!(fen > 0)) { fill(errs.amount_fen, '请填写金额，如 12.50'); amount.focus(); return; }
    if (fen > max) { fill(errs.amount_fen, `超过可退金额 ${money(max)}`); amount.focus(); return; }
    submit.disabled = true;
    let d;
    try {
      d = await api.request('POST', `/orders/${o.id}/refunds`, {
        body: { amount_fen: fen, reason: reason.value.trim() }, headers: { 'Idempotency-Key': key },
      });
    } catch (e2) {
      fieldErrors(e2, errs, rest, { amount_fen: amount, reason }, { refund_above_paid: 'amount_fen', nothing_to_refund: 'amount_fen' });
      return;
    } finally {
      submit.disabled = false;
    }
    close();
    // A WeChat Pay order's refund is sent by the refund job: say so, not
    // that the money is back already.
    const wx = d?.refunds?.at(-1)?.wechat_refund;
    toast(wx ? `已登记退费 ${money(fen)}，微信支付的款项将原路退回` : `已登记退费 ${money(fen)}，请线下退还家长`);
    after?.();
  });
}
