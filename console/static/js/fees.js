// fees.js: money (docs/fees.md). The finance figures of a bureau's region
// or a school (GET /stats/finance, summed from the ledger) with the
// per-school table and its export, and the differences the daily WeChat Pay
// reconciliation found (fees_reconcile.js); for a school admin also the
// school's orders — unpaid holds, payments, refunds — with each order's
// ledger and the payment and refund actions (fees_orders.js). After a
// payment or a refund the figures are read again.
import * as api from './api.js';
import { h, fill, card, stat, num, table, loading, errorBox, money } from './ui.js';
import { ordersPanel } from './fees_orders.js';
import { reconcilePanel } from './fees_reconcile.js';

function figures(t) {
  return h('div.grid.counts.five',
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

/** finance: the 收费统计 page of a bureau admin (the region's schools) or
 * the 收费与缴费 page of a school admin (its own school: its figures for a
 * term, its orders and its reconciliation). */
export async function finance(el, ctx) {
  if (ctx.me.role !== 'bureau_admin') return schoolFinance(el, ctx);
  const head = h('div.page-head', h('h1', '收费统计'));
  fill(el, head, loading());
  const res = await api.get('/stats/finance');
  fill(el, head, card('合计', figures(res.totals), h('p.muted', NOTE)),
    card('各校', table(SCHOOL_COLS, res.schools, {
      sortKey: 'billed_fen', sortDir: -1, onRow: (r) => { location.hash = `#/school/${r.school_id}`; },
      serverExport: { path: '/stats/finance', query: { format: 'xlsx' } },
    })),
    card('微信支付对账差异', reconcilePanel({ bureau: true })));
}

const NOTE = '金额由收费台账逐笔汇总；减免在下单时按学生的减免资格计算，退费按所在地区的退费规则计算。';

/** schoolFinance: a school's figures (for the term picked), its orders and
 * its reconciliation; a payment or refund reads the figures again. */
async function schoolFinance(el, ctx) {
  const sid = ctx.me.school_id;
  const head = h('div.page-head', h('h1', '收费与缴费'));
  fill(el, head, loading());
  const terms = (await api.get(`/schools/${sid}/terms`)).items.sort((a, b) => b.starts_on.localeCompare(a.starts_on));
  let termID = sessionStorage.getItem('kehou.term') || terms[0]?.id || '';
  if (!terms.some((t) => String(t.id) === String(termID))) termID = terms[0]?.id || '';
  const totals = h('div', loading());
  async function loadTotals() {
    try {
      const res = await api.get('/stats/finance', { school_id: sid, term_id: termID || undefined });
      const grid = figures(res.totals);
      // 待缴 lists the unpaid orders.
      const owed = grid.lastChild;
      owed.classList.add('link');
      owed.title = '查看待缴费的订单';
      owed.addEventListener('click', () => orders.show('unpaid'));
      fill(totals, grid, h('p.muted', NOTE));
    } catch (e) {
      fill(totals, errorBox(e));
    }
  }
  const orders = ordersPanel(sid, { termID, onChange: loadTotals });
  const picker = terms.length ? h('label.inline', '学期 ', h('select', {
    onchange: (e) => { termID = e.target.value; sessionStorage.setItem('kehou.term', termID); loadTotals(); orders.reload(termID); },
  }, terms.map((t) => h('option', { value: t.id, selected: String(t.id) === String(termID) }, t.name)))) : null;
  fill(el, h('div.page-head', h('h1', '收费与缴费'), h('div.toolbar', picker)),
    card('合计', totals),
    card(h('div.row', h('h2', '订单'), h('span.muted.small', '待缴费的名额到期未缴自动释放给候补；未订阅微信通知的家庭也能在小程序的报名记录里看到。')), orders.panel),
    card('微信支付对账差异', reconcilePanel({ onChange: () => { loadTotals(); orders.reload(termID); } })));
  await loadTotals();
}
