-- A database of the platform: `raw` (the event log landed from Kafka) or `curated` (dbt's marts).
CREATE DATABASE IF NOT EXISTS {{database}}{{on_cluster}}
