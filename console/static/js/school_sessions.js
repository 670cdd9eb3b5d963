// school_sessions.js: an offering's sessions month by month on its detail
// page — cancel one (weather, exams: the families are told), see which were
// cancelled and why, whether the roll was taken, and download the month's
// attendance sheet (GET /offerings/{id}/attendance?month&format=xlsx).
import * as api from './api.js';
import { h, fill, table, loading, errorBox, guard, toast, modal, today, dateTime, WEEKDAYS } from './ui.js';

const monthOf = (d) => d.slice(0, 7);
// What became of a session by the server's clock (its state).
const STATES = {
  held: () => h('span.tag.published', '已点名'),
  unmarked: () => h('span.tag.bad', '未点名'),
  in_progress: () => h('span.tag', '上课中'),
  upcoming: () => h('span.tag', '待上课'),
};
// shiftMonth is month m ("2026-11") moved by n months.
const shiftMonth = (m, n) => {
  const [y, mo] = m.split('-').map(Number);
  return new Date(Date.UTC(y, mo - 1 + n, 1)).toISOString().slice(0, 7);
};
const lastDay = (m) => {
  const [y, mo] = m.split('-').map(Number);
  return `${m}-${String(new Date(Date.UTC(y, mo, 0)).getUTCDate()).padStart(2, '0')}`;
};
const weekday = (d) => WEEKDAYS[((new Date(d + 'T00:00:00Z').getUTCDay() + 6) % 7) + 1];

/** sessionsPanel is the sessions card of offering o (canCancel: a school
 * admin's view; seats: the roster's counts, { paid, held }, that the
 * cancel dialog names; term: o's term, whose months the picker offers). */
export function sessionsPanel(o, canCancel, seats, term) {
  // The term's months (six either side of today without one), named in
  // Chinese (a month input speaks the browser's language); today's month,
  // or the term's nearest.
  const first = term ? monthOf(term.starts_on) : shiftMonth(monthOf(today()), -6);
  const last = term ? monthOf(term.ends_on) : shiftMonth(monthOf(today()), 6);
  const months = [];
  for (let m = first; m <= last; m = shiftMonth(m, 1)) {
    const [y, mo] = m.split('-').map(Number);
    months.push([m, `${y}年${mo}月`]);
  }
  let month = [first, monthOf(today()), last].sort()[1];
  const box = h('div', loading());
  const picker = h('select', { onchange: (e) => { month = e.target.value; load(); } },
    months.map(([v, l]) => h('option', { value: v, selected: v === month }, l)));
  const sheet = h('button.btn.ghost', {
    type: 'button',
    onclick: () => guard(() => api.download(`/offerings/${o.id}/attendance`, { month, format: 'xlsx' })),
  }, '导出本月考勤表');
  async function load() {
    fill(box, loading());
    try {
      const res = await api.get(`/offerings/${o.id}/sessions`, { from: `${month}-01`, to: lastDay(month), limit: 100 });
      const now = today();
      fill(box, table([
        { key: 'date', label: '日期', fmt: (d) => `${d.slice(5)} ${weekday(d)}` },
        { key: 'start_time', label: '时间', fmt: (v, s) => `${v}–${s.end_time}` },
        { key: 'status', label: '状态', fmt: (v, s) => (v === 'cancelled'
          ? h('span.tag.cancelled', { title: s.cancel_reason }, `停课：${s.cancel_reason || '—'}`)
          : (STATES[s.state] || STATES.upcoming)()) },
        { key: 'roll_taken_at', label: '点名时间', fmt: (v) => (v ? dateTime(v) : '—') },
        { key: 'id', label: '操作', xlsx: false, fmt: (id, s) => (canCancel && s.status === 'scheduled' && !s.roll_taken_at && s.date >= now
          ? h('button.btn.small.danger', { type: 'button', onclick: (e) => { e.stopPropagation(); cancelSession(o, s, load, seats); } }, '停课')
          : null) },
      ], res.items, { empty: '本月没有课' }));
    } catch (e) {
      fill(box, errorBox(e));
    }
  }
  load();
  return h('div', h('div.toolbar', h('label.inline', '月份 ', picker), sheet), box);
}

/** moneyNote says what cancelling a session of a priced offering does to
 * the money (docs/fees.md, settleCancelledSession): each paid seat gets the
 * session's share of what it paid back (a half-fee child half of it), an
 * unpaid seat's bill is cut by its share; WeChat Pay refunds go back by
 * themselves, money paid in cash, at the bank or on the government
 * platform the school hands back. seats: { paid, held } from the roster. */
function moneyNote(o, seats) {
  if (!o.fee_fen) return null;
  const counts = seats
    ? `本课程现有 ${seats.paid} 个已录取名额（已缴费、免费或减免）、${seats.held} 个待缴费名额。`
    : '';
  return h('div.alert.warn.money-note',
    h('p', h('strong', '停课会退费：'), counts,
      '已缴费的名额自动退还本节课的费用（按实缴金额分摊到每节课，减免的学生按实缴比例）；待缴费的名额从应缴中扣除本节课的费用。'),
    h('p', '微信支付的订单原路自动退回；现金、银行转账或政府收费平台缴费的，退费写入台账，由学校自行把钱退还家长。退费不能撤销。'));
}

/** cancelSession asks for the reason and cancels session s of offering o,
 * saying first what happens to the money. */
function cancelSession(o, s, after, seats) {
  const reason = h('input', { required: true, maxLength: 200, placeholder: '如：暴雨停课、期中考试' });
  const err = h('div');
  const form = h('form.form', {
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api.post(`/sessions/${s.id}/cancel`, { reason: reason.value.trim() });
        close();
        toast(o.fee_fen && (!seats || seats.paid > 0)
          ? '已停课，已报名的家庭会收到通知；已缴费的名额已退还本节课费用（现金、银行转账缴费的请学校线下退还家长）'
          : '已停课，已报名的家庭会收到通知');
        after();
      } catch (e2) {
        fill(err, errorBox(e2));
      }
    },
  }, h('p', `「${o.name}」${s.date}（${weekday(s.date)}）${s.start_time}–${s.end_time}`),
  h('label.wide', '停课原因（家长会在通知中看到）', reason), moneyNote(o, seats), err,
  h('div.form-actions', h('button.btn.danger', { type: 'submit' }, '确认停课')));
  const close = modal('停课', form);
  reason.focus();
}
