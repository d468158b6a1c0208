-- A change to an existing events or errors table for `--migrate`: rows stay where they are.
ALTER TABLE {{name}}{{on_cluster}} {{change}}
