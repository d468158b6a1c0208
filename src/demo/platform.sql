-- Tables the platform itself needs in the source database, next to the OpenLMIS schemas. Created
-- when missing and never dropped by `demo seed --reset` (the CDC publication may list them).
--
-- debezium_signal: Debezium's source signalling channel (`signal.data.collection`); olmisctl inserts
-- `execute-snapshot` signals here, and the connector writes its incremental-snapshot watermarks.
-- debezium_heartbeat: the connector's `heartbeat.action.query` upserts one row, so the replication
-- slot advances even when the captured tables are idle.
-- A dedicated connector user needs INSERT on the signal table and INSERT, UPDATE on the heartbeat
-- table; the CDC preflight checks that and prints the grants.

CREATE TABLE IF NOT EXISTS public.debezium_signal (
    id varchar PRIMARY KEY,
    type varchar NOT NULL,
    data varchar
);

CREATE TABLE IF NOT EXISTS public.debezium_heartbeat (
    id integer PRIMARY KEY,
    ts timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT ON public.debezium_signal, public.debezium_heartbeat TO PUBLIC;

-- What `demo seed` loaded, so a second run can tell the same data from a different one.
CREATE TABLE IF NOT EXISTS public.olmis_demo_seed (
    id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    seed bigint NOT NULL,
    scale integer NOT NULL,
    generator_version integer NOT NULL,
    olmisctl_version text NOT NULL,
    row_count bigint NOT NULL,
    seeded_at timestamptz NOT NULL DEFAULT now()
);
