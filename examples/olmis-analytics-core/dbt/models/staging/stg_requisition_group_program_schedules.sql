-- Current state of referencedata.requisition_group_program_schedules (small table: recomputed from its whole event log on every run).
{{ config(order_by='id') }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_requisition_group_program_schedules'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'requisitiongroupid': 'uuid',
        'programid': 'uuid',
        'processingscheduleid': 'uuid',
        'directdelivery': 'bool'
    }) }}
