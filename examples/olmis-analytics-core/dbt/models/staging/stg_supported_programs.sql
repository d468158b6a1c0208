-- Current state of referencedata.supported_programs (small table: recomputed from its whole event log on every run).
{{ config(order_by=['facilityid', 'programid']) }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_supported_programs'),
    keys=['facilityid', 'programid'],
    columns={
        'facilityid': 'uuid',
        'programid': 'uuid',
        'active': 'bool',
        'startdate': 'date',
        'locallyfulfilled': 'bool'
    }) }}
