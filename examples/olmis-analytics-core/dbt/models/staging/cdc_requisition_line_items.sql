-- Versions of requisition.requisition_line_items rows (large table: incremental, ReplacingMergeTree; see olmis_cdc_versions).
-- Read it through stg_requisition_line_items, never directly: it holds superseded versions and deletes.
{{ config(
    materialized='incremental',
    engine='ReplacingMergeTree(_version, _deleted)',
    order_by='id') }}

{{ olmis_cdc_versions(
    source('openlmis', 'events_requisition_requisition_line_items'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'requisitionid': 'uuid',
        'orderableid': 'uuid',
        'orderableversionnumber': 'bigint',
        'beginningbalance': 'int',
        'totalreceivedquantity': 'int',
        'totalconsumedquantity': 'int',
        'totallossesandadjustments': 'int',
        'stockonhand': 'int',
        'totalstockoutdays': 'int',
        'adjustedconsumption': 'int',
        'averageconsumption': 'int',
        'requestedquantity': 'int',
        'approvedquantity': 'int',
        'packstoship': 'bigint',
        'priceperpack': 'decimal(19,2)',
        'totalcost': 'decimal(19,2)',
        'skipped': 'bool',
        'nonfullsupply': 'bool'
    }) }}
