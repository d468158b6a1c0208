-- Drops a view or table of a topic's pipeline for `--migrate` (never an events table: those are
-- altered in place). SYNC: the name is free again, and a Kafka consumer has left its group, when
-- this returns.
DROP TABLE IF EXISTS {{name}}{{on_cluster}} SYNC
