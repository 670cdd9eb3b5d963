// app.js: the console's shell — login, the sidebar of the signed-in role,
// and a hash router (#/page/arg) that hands the main area to a page.
import * as api from './api.js';
import { h, fill, errorBox, toast } from './ui.js';
import * as bureau from './bureau.js';
import * as school from './school.js';
import * as teacher from './teacher.js';
import * as fees from './fees.js';

const ROLE_NAMES = {
  bureau_admin: '教育局管理员', school_admin: '学校管理员', teacher: '教师', platform_admin: '平台管理员', parent: '家长',
};

// The pages of each role, in sidebar order: [route, label, page].
const MENUS = {
  bureau_admin: [
    ['overview', '数据概览', bureau.overview],
    ['trends', '趋势分析', bureau.trends],
    ['schools', '学校排行', bureau.schools],
    ['breakdown', '年级与类别', bureau.breakdown],
    ['demand', '未满足需求', bureau.demand],
    ['regions', '行政区划', bureau.regions],
    ['finance', '收费统计', fees.finance],
  ],
  school_admin: [
    ['overview', '本校概览', bureau.overview],
    ['offerings', '课程管理', school.offerings],
    ['students', '学生名单', school.students],
    ['import', '名单导入', school.importRoster],
    ['terms', '学期与校历', school.terms],
    ['lottery', '抽签', school.lottery],
    ['finance', '收费与缴费', fees.finance],
    ['today', '今日点名', teacher.today],
    ['leave', '请假申请', school.leave],
    ['staff', '教职工账号', school.staff],
    ['deletions', '数据删除申请', school.deletions],
  ],
  teacher: [
    ['today', '今日课程', teacher.today],
  ],
  platform_admin: [
    ['jobs', '任务运行', school.jobs],
  ],
};

// Pages reached from another page, not from the sidebar.
const DETAIL = {
  school: bureau.schoolDetail,
  region: bureau.regionDetail,
  offering: school.offeringDetail,
  roll: teacher.roll,
};

const state = { me: null };

// A Content-Security-Policy violation is counted where the browser tests
// look (body[data-csp-violations]) and logged.
document.addEventListener('securitypolicyviolation', (e) => {
  document.body.dataset.cspViolations = String(Number(document.body.dataset.cspViolations || 0) + 1);
  console.warn('CSP violation', e.violatedDirective, e.blockedURI);
});

function route() {
  const [page, ...args] = location.hash.replace(/^#\/?/, '').split('/');
  return { page, args };
}

async function start() {
  api.setLogoutHandler(() => showLogin('登录已失效，请重新登录'));
  window.addEventListener('hashchange', render);
  if (!api.hasSession()) return showLogin();
  // An admin reloading the overview: its figures are asked for together
  // with /me instead of after it (one round trip less before they show).
  const { page } = route();
  if ((page === '' || page === 'overview') && ['bureau_admin', 'school_admin'].includes(sessionStorage.getItem('kehou.role'))) {
    bureau.prefetchOverview();
  }
  try {
    state.me = await api.get('/me');
    sessionStorage.setItem('kehou.role', state.me.role);
  } catch (e) {
    api.logout();
    return showLogin(e.message);
  }
  render();
}

// enter loads the signed-in user and opens their first page.
async function enter() {
  state.me = await api.get('/me');
  sessionStorage.setItem('kehou.role', state.me.role);
  if (!location.hash || location.hash === '#/') location.hash = '#/' + MENUS[state.me.role]?.[0]?.[0];
  render();
}

// showSetPassword: an account made by an administrator sets its own
// password at its first login (the API answered password_change_required
// with a single-use change token).
function showSetPassword(changeToken) {
  const pass = h('input', { type: 'password', autocomplete: 'new-password', required: true, placeholder: '新密码' });
  const again = h('input', { type: 'password', autocomplete: 'new-password', required: true, placeholder: '再次输入新密码' });
  const err = h('div.login-error');
  const btn = h('button.btn.block', { type: 'submit' }, '设置密码并登录');
  const form = h('form.login-card', {
    onsubmit: async (e) => {
      e.preventDefault();
      fill(err);
      if (pass.value !== again.value) { fill(err, errorBox(new Error('两次输入的密码不一致'))); return; }
      btn.disabled = true;
      try {
        await api.setPassword(changeToken, pass.value);
        await enter();
      } catch (e2) {
        fill(err, errorBox(e2));
        if (e2.code === 'invalid_change_token') setTimeout(() => showLogin('设置密码的时限已过，请重新登录'), 1500);
      } finally {
        btn.disabled = false;
      }
    },
  },
  h('div.login-brand', h('div.logo', '课'), h('div', h('h1', '首次登录：设置您自己的密码'), h('p', '该账号由管理员创建，请设置只有您知道的新密码。'))),
  h('label', '新密码', pass), h('label', '确认新密码', again), err, btn);
  fill(document.getElementById('app'), h('div.login-page', form));
  pass.focus();
}

function showLogin(msg) {
  state.me = null;
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, placeholder: '用户名' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, placeholder: '密码' });
  const err = h('div.login-error', msg ? errorBox(new Error(msg)) : null);
  const btn = h('button.btn.block', { type: 'submit' }, '登 录');
  const form = h('form.login-card', {
    onsubmit: async (e) => {
      e.preventDefault();
      btn.disabled = true;
      fill(err);
      try {
        await api.login(user.value.trim(), pass.value);
        await enter();
      } catch (e2) {
        if (e2.code === 'password_change_required' && e2.body && e2.body.change_token) {
          showSetPassword(e2.body.change_token);
          return;
        }
        fill(err, errorBox(e2));
      } finally {
        btn.disabled = false;
      }
    },
  },
  h('div.login-brand', h('div.logo', '课'), h('div', h('h1', '课后服务管理平台'), h('p', '教育局 · 学校 · 教师'))),
  h('label', '用户名', user), h('label', '密码', pass), err, btn,
  h('p.muted.small', '家长请使用微信小程序。'));
  fill(document.getElementById('app'), h('div.login-page', form));
  user.focus();
}

function render() {
  const me = state.me;
  if (!me) return showLogin();
  const menu = MENUS[me.role];
  const app = document.getElementById('app');
  if (!menu) {
    fill(app, h('div.login-page', h('div.login-card', h('h1', '课后服务管理平台'),
      h('p', `${ROLE_NAMES[me.role] || me.role}请使用微信小程序。`),
      h('button.btn', { onclick: doLogout }, '退出'))));
    return;
  }
  let { page, args } = route();
  let entry = menu.find((m) => m[0] === page);
  const detail = DETAIL[page];
  if (!entry && !detail) {
    page = menu[0][0];
    entry = menu[0];
    history.replaceState(null, '', '#/' + page);
  }
  const main = h('main.main');
  const nav = h('nav.nav', menu.map(([r, label]) => h('a' + (r === page ? '.active' : ''), { href: '#/' + r }, label)));
  const shell = h('div.shell.role-' + me.role,
    h('aside.side', h('div.side-inner',
      h('div.brand', h('div.logo', '课'), h('div', h('div.brand-name', '课后服务管理平台'), h('div.brand-sub', ROLE_NAMES[me.role]))),
      nav)),
    h('div.body',
      h('header.top',
        h('button.btn.ghost.small.menu-toggle', { type: 'button', onclick: () => shell.classList.toggle('nav-open') }, '☰'),
        h('div.top-title', entry ? entry[1] : ''),
        h('div.top-user', h('span', me.display_name || me.username), h('span.muted', ' · ' + (ROLE_NAMES[me.role] || '')),
          h('button.btn.ghost.small', { type: 'button', onclick: doLogout }, '退出'))),
      main));
  nav.addEventListener('click', () => shell.classList.remove('nav-open'));
  fill(app, shell);
  const fn = entry ? entry[2] : detail;
  Promise.resolve(fn(main, { me, args, setTitle: (t) => { shell.querySelector('.top-title').textContent = t; } }))
    .catch((e) => fill(main, errorBox(e)));
}

function doLogout() {
  api.logout();
  sessionStorage.removeItem('kehou.role');
  toast('已退出');
  location.hash = '';
  showLogin();
}

start();
