-- 0100: WeChat Pay (SPEC "Fees and payment"; docs/wechatpay.md). The WeChat
-- side of an order (its out_trade_no and prepay), the refunds WeChat Pay is
-- to move, and the differences the daily reconciliation finds.

-- pay_orders: one per order a guardian chose to pay through WeChat Pay.
-- out_trade_no is derived from the order (stable across retries, so a
-- retry cannot make a second prepay); state follows what WeChat Pay said.
CREATE TABLE pay_orders (
  order_id BIGINT PRIMARY KEY REFERENCES orders(id),
  school_id BIGINT NOT NULL REFERENCES schools(id),
  out_trade_no TEXT NOT NULL UNIQUE,
  amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
  payer_user_id BIGINT NOT NULL REFERENCES users(id),
  prepay_id TEXT NOT NULL DEFAULT '',
  prepay_expires_at {{TS}},
  state TEXT NOT NULL DEFAULT 'open',
  transaction_id TEXT NOT NULL DEFAULT '',
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);

-- pay_refunds: every refund ledger row of an order paid through WeChat Pay,
-- for the refund worker to send (out_refund_no is stable per ledger row, so
-- a retry cannot refund twice) until WeChat Pay says it succeeded.
CREATE TABLE pay_refunds (
  id {{ID}},
  ledger_id BIGINT NOT NULL UNIQUE REFERENCES fee_ledger(id),
  order_id BIGINT NOT NULL REFERENCES orders(id),
  school_id BIGINT NOT NULL REFERENCES schools(id),
  out_refund_no TEXT NOT NULL UNIQUE,
  amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at {{TS}} NOT NULL,
  refund_id TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '',
  succeeded_at {{TS}},
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE INDEX pay_refunds_due ON pay_refunds(status, next_attempt_at);

-- reconcile_diffs: what the daily comparison of WeChat Pay's trade bill with
-- the ledger found, one row per difference and day.
CREATE TABLE reconcile_diffs (
  id {{ID}},
  bill_date TEXT NOT NULL,
  school_id BIGINT REFERENCES schools(id),
  kind TEXT NOT NULL,
  out_trade_no TEXT NOT NULL,
  out_refund_no TEXT NOT NULL DEFAULT '',
  local_fen BIGINT NOT NULL DEFAULT 0,
  remote_fen BIGINT NOT NULL DEFAULT 0,
  found_at {{TS}} NOT NULL,
  UNIQUE (bill_date, kind, out_trade_no, out_refund_no)
);
CREATE INDEX reconcile_diffs_school ON reconcile_diffs(school_id, bill_date);
