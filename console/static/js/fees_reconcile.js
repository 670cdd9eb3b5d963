// fees_reconcile.js: what the daily reconciliation found (GET
// /pay/reconciliation): WeChat Pay's trade bill of each day against the
// ledger, every difference with its day, order and both amounts — for a
// school admin their school's (with the child, and the order's ledger a
// click away), for a bureau admin their schools'. An empty list says
// which it means: no difference, not yet compared, or no WeChat Pay.
import * as api from './api.js';
import { h, fill, stat, num, table, loading, errorBox, dateTime, dateRange, today, money } from './ui.js';
import { orderDialog } from './fees_orders.js';

// KINDS: each kind's label, its tone and what to do about it.
const KINDS = {
  missing_local: ['本地缺记录', 'bad', '微信支付已收（或已退）款，收费台账没有：核对微信商户平台的交易后，联系平台补记。'],
  missing_remote: ['微信账单缺记录', 'warn', '收费台账记了，微信账单没有：多为跨日入账，次日账单出现即可；连续两日仍缺请联系平台。'],
  amount_differs: ['金额不一致', 'bad', '两边都有，金额不同：以微信账单为准核对，联系平台更正。'],
};

/** reconcilePanel is the card body listing the differences of a date
 * range (the last 30 days at first). opts.bureau adds the school column;
 * opts.onChange runs after a refund or payment from an order's dialog. */
export function reconcilePanel(opts = {}) {
  const box = h('div', loading());
  const range = dateRange(today(-29), today(), (from, to) => load(from, to));
  const panel = h('div.reconcile', range, box);

  async function load(from, to) {
    fill(box, loading());
    let res;
    try {
      res = await api.get('/pay/reconciliation', { from, to });
    } catch (e) {
      fill(box, errorBox(e));
      return;
    }
    const items = res.items;
    const last = res.last_run_at ? `最近一次对账完成于 ${dateTime(res.last_run_at)}（每天 10:00 核对前一日的微信支付交易账单）。` : '';
    if (!items.length) {
      let msg;
      let tone = 'good';
      if (!res.wechat_pay && !res.last_run_at) {
        msg = '本平台未开通微信支付收款，没有需要核对的交易账单。学校登记的银行、现金、收费平台缴费不经过微信对账。';
        tone = 'info';
      } else if (!res.last_run_at) {
        msg = '对账任务还没有运行过：每天 10:00 自动核对前一日的微信支付交易账单，届时这里列出差异。';
        tone = 'info';
      } else {
        msg = `${res.from} 至 ${res.to}，微信支付交易账单与收费台账逐笔一致，没有差异。`;
      }
      fill(box, h('div.empty-state.' + tone, h('div.empty-mark', tone === 'good' ? '✓' : 'i'),
        h('div', h('strong', tone === 'good' ? '账实相符' : '暂无对账结果'), h('p', msg), last ? h('p.muted.small', last) : null)));
      return;
    }
    const count = (k) => items.filter((d) => d.kind === k).length;
    const gap = (d) => d.remote_fen - d.local_fen;
    const cols = [
      { key: 'bill_date', label: '账单日期' },
      opts.bureau ? { key: 'school_name', label: '学校', fmt: (v) => v || '（未对应学校）' } : null,
      { key: 'kind', label: '差异', fmt: (k) => h('span.tag.' + (KINDS[k]?.[1] || ''), KINDS[k]?.[0] || k), xlsx: (d) => KINDS[d.kind]?.[0] || d.kind },
      { key: 'order_id', label: '订单', fmt: (v, d) => (v ? h('div', h('div', `#${v}`), opts.bureau ? null : h('div.muted.small', [d.student_name, d.offering_name].filter(Boolean).join(' · '))) : h('span.muted', '无对应订单')),
        xlsx: (d) => (d.order_id ? `#${d.order_id} ${d.student_name || ''} ${d.offering_name || ''}`.trim() : '无对应订单') },
      { key: 'out_trade_no', label: '商户订单号 / 退款单号', fmt: (v, d) => h('div.mono.small', h('div', v), d.out_refund_no ? h('div', '退款 ' + d.out_refund_no) : null),
        xlsx: (d) => d.out_trade_no + (d.out_refund_no ? ' / ' + d.out_refund_no : '') },
      { key: 'local_fen', label: '本地台账', num: true, fmt: (v, d) => (d.kind === 'missing_local' ? '—' : money(v)), xlsx: (d) => d.local_fen / 100 },
      { key: 'remote_fen', label: '微信账单', num: true, fmt: (v, d) => (d.kind === 'missing_remote' ? '—' : money(v)), xlsx: (d) => d.remote_fen / 100 },
      { key: 'gap', label: '差额', num: true, sort: gap, fmt: (_, d) => h('span.' + (gap(d) ? 'bad-text' : 'muted'), (gap(d) > 0 ? '+' : gap(d) < 0 ? '−' : '') + money(Math.abs(gap(d)))), xlsx: (d) => gap(d) / 100 },
    ].filter(Boolean);
    fill(box,
      h('div.grid.counts',
        stat('差异', num(items.length), `${res.from} 至 ${res.to}`, 'warn'),
        Object.entries(KINDS).map(([k, [label, tone]]) => stat(label, num(count(k)), null, count(k) ? tone : null))),
      table(cols, items, {
        exportName: `微信支付对账差异-${res.from}-${res.to}`,
        rowClass: (d) => (d.kind === 'missing_remote' ? null : 'row-warn'),
        onRow: opts.bureau ? (d) => { if (d.school_id) location.hash = `#/school/${d.school_id}`; }
          : (d) => { if (d.order_id) orderDialog({ id: d.order_id, student_name: d.student_name, offering_name: d.offering_name }, opts.onChange); },
      }),
      h('ul.hints', Object.entries(KINDS).filter(([k]) => count(k)).map(([, [label, , what]]) => h('li', h('strong', label + '：'), what))),
      last ? h('p.muted.small', last) : null);
  }

  load(today(-29), today());
  return panel;
}
