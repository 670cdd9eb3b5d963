// A parent's screens, written as the mini-program would against types
// generated from openapi.yaml (api.d.ts, made by the test): compiled with
// tsc --strict, so a field the contract leaves optional where a screen needs
// it fails the build, and run against a real kehou, counting the calls each
// screen costs. No "!" and no "?? []" on anything the server always answers.
import type { components, paths } from "./api";

type S = components["schemas"];
type JSONOf<R> = R extends { content: { "application/json": infer T } } ? T : never;
type Login = JSONOf<paths["/api/v1/auth/wechat"]["post"]["responses"]["200"]>;
type PhoneBinding = JSONOf<paths["/api/v1/me/phone"]["post"]["responses"]["200"]>;
type Offerings = JSONOf<paths["/api/v1/schools/{id}/offerings"]["get"]["responses"]["200"]>;
type Enrolled = JSONOf<paths["/api/v1/enrollments"]["post"]["responses"]["201"]>;
type Templates = JSONOf<paths["/api/v1/wechat/templates"]["get"]["responses"]["200"]>;
type Consents = JSONOf<paths["/api/v1/me/subscriptions"]["post"]["responses"]["200"]>;
type Inbox = JSONOf<paths["/api/v1/me/notifications"]["get"]["responses"]["200"]>;
type Me = JSONOf<paths["/api/v1/me"]["get"]["responses"]["200"]>;
type PayParams = JSONOf<paths["/api/v1/orders/{id}/wechat-pay"]["post"]["responses"]["200"]>;
type Order = JSONOf<paths["/api/v1/orders/{id}"]["get"]["responses"]["200"]>;
type Leave = JSONOf<paths["/api/v1/students/{id}/leave-requests"]["post"]["responses"]["201"]>;
type Attendance = JSONOf<paths["/api/v1/students/{id}/attendance"]["get"]["responses"]["200"]>;
type ErrorBody = S["Error"];

// Node's process and timers, declared here so the test needs no @types/node.
declare const process: { argv: string[]; exit(code: number): never };
declare function setTimeout(f: () => void, ms: number): unknown;

const [API, FAKE, PHONE] = process.argv.slice(2);
const calls: string[] = [];

// kehou is one call to kehou (counted); it fails on an unexpected status.
async function kehou<T>(method: string, path: string, token: string, body: unknown, want: number): Promise<T> {
  calls.push(method + " " + path.split("?")[0]);
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token !== "") headers["Authorization"] = "Bearer " + token;
  const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json: unknown = await res.json();
  if (res.status !== want) {
    const e = json as ErrorBody;
    throw new Error(`${method} ${path}: ${res.status} ${e.code} ${e.message}`);
  }
  return json as T;
}

// wechat stands for what the phone asks of WeChat itself (not counted).
async function wechat(path: string, body: unknown): Promise<Record<string, string>> {
  const res = await fetch(FAKE + path, { method: "POST", body: JSON.stringify(body) });
  return (await res.json()) as Record<string, string>;
}

// clubLine is a row of the club list, as the screen shows it.
function clubLine(o: Offerings["items"][number]): string {
  return `${o.name} ${o.teacher} ${o.weekdays.join("")} ${o.start_time}-${o.end_time} ${o.remaining} ${o.student_state ?? ""} ${o.next_session_date ?? "—"}`;
}

// childLine is a row of "my children", with each child's clubs.
function childLine(c: S["Child"]): string {
  return `${c.name}(${c.school_name}): ` + c.enrollments.map((e) => `${e.offering.name}/${e.offering.teacher}/${e.status}`).join(", ");
}

async function main(): Promise<void> {
  // First launch: wx.login, log in; getPhoneNumber, bind: the children.
  const code = (await wechat("/_fake/login_code", { openid: "oTypedClient" }))["code"];
  const login = await kehou<Login>("POST", "/api/v1/auth/wechat", "", { code }, 200);
  const token = login.access_token;
  const pcode = (await wechat("/_fake/phone_code", { phone: PHONE }))["code"];
  const bound = await kehou<PhoneBinding>("POST", "/api/v1/me/phone", token, { code: pcode }, 200);
  const child = bound.children[0];
  // The club list, each club with what enrolling this child would do.
  const list = await kehou<Offerings>("GET", `/api/v1/schools/${child.school_id}/offerings?student_id=${child.id}`, token, undefined, 200);
  const lines = list.items.map(clubLine);
  const open = list.items.find((o) => o.student_state === "open" && o.fee_fen === 0);
  if (open === undefined) throw new Error("no open club: " + lines.join("; "));
  // The tap: enroll. The answer names the club.
  const e = await kehou<Enrolled>("POST", "/api/v1/enrollments", token, { student_id: child.id, offering_id: open.id }, 201);
  const launchToEnrolled = calls.length;
  const enrolledScreen = `${e.offering.name} ${e.offering.venue} ${e.offering.term_name} ${e.status}`;

  // The same tap asks consent for what matters later (at most 3 templates).
  const templates = await kehou<Templates>("GET", "/api/v1/wechat/templates", token, undefined, 200);
  // Kinds may share a template: ask for each template once.
  const ask = [...new Set(templates.filter((t) => t.subscription === "one_time").map((t) => t.template_id))].slice(0, 3);
  for (const id of ask) await wechat("/_fake/subscribe", { openid: "oTypedClient", template_id: id, result: "accept" });
  const consents = await kehou<Consents>("POST", "/api/v1/me/subscriptions", token, { accepted: ask }, 200);

  // Enrolling again is refused with the enrollment to show.
  let already = "";
  try {
    await kehou<Enrolled>("POST", "/api/v1/enrollments", token, { student_id: child.id, offering_id: open.id }, 201);
  } catch (err) {
    already = String(err);
  }

  // A priced club: the tap holds a seat until paid; the phone pays through
  // WeChat Pay (wx.requestPayment with what kehou signed), then shows the
  // order once WeChat Pay's notification reached kehou.
  const priced = list.items.find((o) => o.student_state === "open" && o.fee_fen > 0);
  if (priced === undefined) throw new Error("no priced club: " + lines.join("; "));
  const payStart = calls.length;
  const held = await kehou<Enrolled>("POST", "/api/v1/enrollments", token, { student_id: child.id, offering_id: priced.id }, 201);
  if (held.status !== "pending_payment" || held.order_id === undefined) throw new Error("not held for payment: " + held.status);
  const params = await kehou<PayParams>("POST", `/api/v1/orders/${held.order_id}/wechat-pay`, token, undefined, 200);
  const paidByWeChat = await wechat("/_fake/pay/request-payment", {
    timeStamp: params.timeStamp, nonceStr: params.nonceStr, package: params.package, signType: params.signType, paySign: params.paySign,
  });
  let order = await kehou<Order>("GET", `/api/v1/orders/${held.order_id}`, token, undefined, 200);
  for (let i = 0; order.status === "unpaid" && i < 200; i++) {
    await new Promise<void>((done) => setTimeout(done, 25)); // the notification is on its way
    order = await kehou<Order>("GET", `/api/v1/orders/${held.order_id}`, token, undefined, 200);
  }
  const paidScreen = `${held.offering.name} ${order.amount_fen} ${order.paid_fen} ${order.status} ${params.amount_fen}`;
  const toPaid = calls.length - payStart;

  // Leave for the free club's next session, then that month's attendance
  // shows it on the session.
  const day = open.next_session_date;
  if (day === null || day === undefined) throw new Error("the club has no next session");
  const leave = await kehou<Leave>("POST", `/api/v1/students/${child.id}/leave-requests`, token,
    { from: day, to: day, offering_ids: [open.id], reason: "发烧请假" }, 201);
  const att = await kehou<Attendance>("GET", `/api/v1/students/${child.id}/attendance?month=${day.slice(0, 7)}`, token, undefined, 200);
  const leaveLines = att.items.filter((s) => s.leave !== null).map((s) =>
    `${s.date} ${s.offering.name} ${s.status ?? "-"} ${s.leave === null ? "" : s.leave.reason} ${s.leave === null ? "" : s.leave.status}`);
  const leaveScreen = `${leave.from}..${leave.to} ${leave.status} ${leave.offering_ids.join(",")}`;

  // Next launch: one call gives the children and their clubs.
  const relaunchStart = calls.length;
  const code2 = (await wechat("/_fake/login_code", { openid: "oTypedClient" }))["code"];
  const again = await kehou<Login>("POST", "/api/v1/auth/wechat", "", { code: code2 }, 200);
  const kids = (again.children ?? []).map(childLine); // absent only for staff logins
  const relaunchCalls = calls.length - relaunchStart;
  const me = await kehou<Me>("GET", "/api/v1/me", again.access_token, undefined, 200);

  // The inbox.
  const inbox = await kehou<Inbox>("GET", "/api/v1/me/notifications", again.access_token, undefined, 200);
  const messages = inbox.items.map((n) => `${n.title}|${n.body}|${n.delivery}|${n.created_at}`);

  console.log(JSON.stringify({
    launchToEnrolled, relaunchCalls, calls, lines, enrolledScreen, consents: consents.consents, already, kids,
    meChildren: (me.children ?? []).length, messages, nextCursor: inbox.next_cursor,
    paidScreen, toPaid, paidByWeChat, leaveScreen, leaveLines, leaveDay: day,
  }));
}

main().catch((err: unknown) => {
  console.error(String(err));
  process.exit(1);
});
