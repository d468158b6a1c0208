-- Versions of stockmanagement.stock_card_line_items rows (large table: incremental, ReplacingMergeTree; see olmis_cdc_versions).
-- Read it through stg_stock_card_line_items, never directly: it holds superseded versions and deletes.
{{ config(
    materialized='incremental',
    engine='ReplacingMergeTree(_version, _deleted)',
    order_by='id') }}

{{ olmis_cdc_versions(
    source('openlmis', 'events_stockmanagement_stock_card_line_items'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'stockcardid': 'uuid',
        'origineventid': 'uuid',
        'quantity': 'int',
        'reasonid': 'uuid',
        'sourceid': 'uuid',
        'destinationid': 'uuid',
        'occurreddate': 'date',
        'processeddate': 'timestamp'
    }) }}
