// fees.js: money (docs/fees.md). The finance figures of a bureau's region
// or a school (GET /stats/finance, summed from the ledger) with the
// per-school table and its export; for a school admin also the seats held
// for payment (GET /schools/{id}/orders?status=unpaid), where a payment
// made at the bank, in cash or on a fee platform is recorded.
import * as api from './api.js';
import { h, fill, card, stat, num, table, loading, guard, modal, dateTime } from './ui.js';

/** money formats fen as yuan ("¥1,234.50"); 0 is "¥0.00". */
const money = (fen) => '¥' + (Number(fen || 0) / 100).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

const WAIVERS = { none: '无', half: '减半', full: '全免' };

function figures(t) {
  return h('div.grid.counts',
    stat('应收', money(t.billed_fen), `${num(t.billed_students)} 名学生 · ${num(t.orders)} 笔订单`),
    stat('实收', money(t.collected_fen), `${num(t.collected_students)} 名学生缴费`, 'good'),
    stat('减免', money(t.waived_fen), `${num(t.waived_students)} 名困难家庭学生`),
    stat('退费', money(t.refunded_fen), `${num(t.refunded_students)} 名学生`),
    stat('待缴', money(t.outstanding_fen), `${num(t.outstanding_students)} 名学生未缴`, t.outstanding_fen > 0 ? 'warn' : 'good'));
}

const SCHOOL_COLS = [
  { key: 'school_name', label: '学校' },
  { key: 'orders', label: '订单', num: true },
  { key: 'billed_fen', label: '应收', num: true, fmt: money },
  { key: 'collected_fen', label: '实收', num: true, fmt: money },
  { key: 'waived_fen', label: '减免', num: true, fmt: money },
  { key: 'waived_students', label: '减免人数', num: true },
  { key: 'refunded_fen', label: '退费', num: true, fmt: money },
  { key: 'outstanding_fen', label: '待缴', num: true, fmt: money },
  { key: 'outstanding_students', label: '待缴人数', num: true },
];

/** finance: the 收费统计 page of a bureau admin (the region's schools) or a
 * school admin (its own school, and its unpaid holds). */
export async function finance(el, ctx) {
  const head = h('div.page-head', h('h1', '收费统计'));
  fill(el, head, loading());
  const res = await api.get('/stats/finance');
  const parts = [head, card('合计', figures(res.totals),
    h('p.muted', '金额由收费台账逐笔汇总；减免在下单时按学生的减免资格计算，退费按所在地区的退费规则计算。'))];
  if (ctx.me.role === 'bureau_admin') {
    parts.push(card('各校', table(SCHOOL_COLS, res.schools, {
      sortKey: 'billed_fen', sortDir: -1, onRow: (r) => { location.hash = `#/school/${r.school_id}`; },
      serverExport: { path: '/stats/finance', query: { format: 'xlsx' } },
    })));
  } else {
    const box = h('div', loading());
    parts.push(card('待缴费的保留名额', box));
    fill(el, ...parts);
    await unpaid(box, ctx.me.school_id);
    return;
  }
  fill(el, ...parts);
}

/** unpaid lists a school's seats held for payment, each with a button that
 * records a payment made outside kehou. */
async function unpaid(box, schoolID) {
  const res = await api.get(`/schools/${schoolID}/orders`, { status: 'unpaid', limit: 500 });
  fill(box, h('p.muted', `共 ${res.items.length} 个名额等待缴费；到期未缴的名额自动释放给候补。未订阅微信通知的家庭也能在小程序的报名记录里看到。`),
    table([
      { key: 'student_no', label: '学号' }, { key: 'student_name', label: '姓名' },
      { key: 'offering_name', label: '课程' },
      { key: 'amount_fen', label: '应缴', num: true, fmt: money },
      { key: 'waiver', label: '减免', fmt: (w) => WAIVERS[w] || w },
      { key: 'hold_expires_at', label: '保留至', fmt: dateTime },
      { key: 'id', label: '操作', xlsx: () => '', fmt: (_, o) => h('button.btn.small', { type: 'button', onclick: () => recordPayment(o, () => unpaid(box, schoolID)) }, '登记缴费') },
    ], res.items, { exportName: '待缴费名单', empty: '没有待缴费的名额' }));
}

/** recordPayment asks for the method and the slip number, then records the
 * order as paid (POST /orders/{id}/payments). */
function recordPayment(o, after) {
  const method = h('select', h('option', { value: 'bank' }, '银行转账'), h('option', { value: 'cash' }, '现金'),
    h('option', { value: 'platform' }, '政府收费平台'));
  const ref = h('input', { type: 'text', maxLength: 64, placeholder: '银行回单号、收据号或平台流水号', required: true });
  const form = h('form.form',
    h('p', `${o.student_name} · ${o.offering_name} · 应缴 ${money(o.amount_fen)}`),
    h('label', '缴费方式', method), h('label', '凭证号', ref),
    h('div.actions', h('button.btn', { type: 'submit' }, '确认已缴费')));
  const close = modal('登记缴费', form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await guard(() => api.post(`/orders/${o.id}/payments`, {
        method: method.value, ref: ref.value.trim(), paid_at: new Date().toISOString(),
      }), '已登记缴费，名额已转为正式报名');
    } catch { return; } // the toast says why
    close();
    after();
  });
}
