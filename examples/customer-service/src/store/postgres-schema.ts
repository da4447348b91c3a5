// The shop's tables in PostgreSQL, beside Lookout's own (lookout_turns, lookout_audit, ...), as
// numbered migrations applied once by whichever replica starts first. Never edit a released
// migration: add the next one.
import type { MigrationSet } from '@lookout/core/postgres';

export const SHOP_SCHEMA: MigrationSet = {
  schema: 'customer-service',
  table: 'shop_migrations',
  // "shop" / 1: a lock of its own, apart from Lookout's.
  lock: [0x73686f70, 1],
  migrations: [
    {
      version: 1,
      name: 'customers, orders, refunds, sessions, approvals, run checkpoints and leases',
      sql: `
CREATE TABLE shop_customers (id text PRIMARY KEY, name text NOT NULL, email text NOT NULL);

CREATE TABLE shop_orders (
  id           text          PRIMARY KEY,
  customer_id  text          NOT NULL REFERENCES shop_customers (id),
  status       text          NOT NULL,
  placed_at    timestamptz   NOT NULL,
  delivered_at timestamptz,
  items        jsonb         NOT NULL,
  total        numeric(12,2) NOT NULL
);
CREATE INDEX shop_orders_by_customer ON shop_orders (customer_id, placed_at DESC);

CREATE TABLE shop_refund_requests (
  id              bigserial     PRIMARY KEY,
  order_id        text          NOT NULL REFERENCES shop_orders (id),
  customer_id     text          NOT NULL,
  amount          numeric(12,2) NOT NULL CHECK (amount > 0),
  reason          text          NOT NULL,
  status          text          NOT NULL,
  created_at      timestamptz   NOT NULL DEFAULT now(),
  -- The tool call's key: a retried or recovered call finds its refund instead of paying again.
  idempotency_key text          UNIQUE
);
CREATE INDEX shop_refund_requests_by_order ON shop_refund_requests (order_id);
CREATE INDEX shop_refund_requests_by_customer ON shop_refund_requests (customer_id, id);

CREATE TABLE shop_handovers (
  id          bigserial   PRIMARY KEY,
  customer_id text        NOT NULL,
  session_id  text        NOT NULL,
  summary     text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- session_key is the agent's session id (lookout_turns.session_id, lookout_audit.session_id).
CREATE TABLE shop_conversations (
  id          text        PRIMARY KEY,
  session_key text        NOT NULL UNIQUE,
  customer_id text        NOT NULL REFERENCES shop_customers (id),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shop_browser_sessions (
  token_hash      text        PRIMARY KEY,
  conversation_id text        NOT NULL REFERENCES shop_conversations (id),
  customer_id     text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_seen_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shop_browser_sessions_seen ON shop_browser_sessions (last_seen_at);
CREATE INDEX shop_browser_sessions_customer ON shop_browser_sessions (customer_id, last_seen_at);

CREATE TABLE shop_staff_accounts (username text PRIMARY KEY, password_hash text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE shop_staff_sessions (
  token_hash   text        PRIMARY KEY,
  username     text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shop_staff_sessions_seen ON shop_staff_sessions (last_seen_at);

CREATE TABLE shop_refused_messages (
  id          bigserial   PRIMARY KEY,
  session_key text        NOT NULL,
  text        text        NOT NULL,
  note        text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shop_refused_messages_by_session ON shop_refused_messages (session_key, id);

CREATE TABLE shop_approvals (
  id          text        PRIMARY KEY,
  run_id      text        NOT NULL,
  session_id  text        NOT NULL,
  customer_id text        NOT NULL,
  tool        text        NOT NULL,
  arguments   jsonb       NOT NULL,
  state       json        NOT NULL,
  -- pending until a member of staff decides, once (UPDATE ... WHERE status = 'pending').
  status      text        NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  note        text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  decided_at  timestamptz,
  run_status  text        CHECK (run_status IN ('running', 'done', 'failed'))
);
CREATE INDEX shop_approvals_open ON shop_approvals (session_id) WHERE status = 'pending' OR run_status = 'running';

CREATE TABLE shop_run_checkpoints (
  run_id      text        PRIMARY KEY,
  session_key text        NOT NULL,
  customer_id text        NOT NULL,
  approval_id text,
  state       json        NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The process continuing a run, while it renews the lease; an expired lease means the process
-- stopped, and another takes the run over for recovery.
CREATE TABLE shop_run_leases (
  run_id      text        PRIMARY KEY,
  owner       text        NOT NULL,
  lease_until timestamptz NOT NULL
);
`,
    },
  ],
};
