-- The OpenLMIS v3 tables the analytics core package reads, shaped as the services' Flyway migrations
-- leave them (schema per service, lowercase unquoted columns, uuid keys, versioned orderables), for the
-- demo source database. `olmisctl demo seed` runs the part before `@after-load`, copies the rows in,
-- then runs the rest, all in one transaction.
--
-- Differences from a real OpenLMIS database, all deliberate:
-- - only the tables and columns analytics uses; columns the demo never fills are still here when the
--   core package may read them (they stay NULL);
-- - no PostGIS: facilities.location and geographic_zones.boundary are left out (the stack's
--   PostgreSQL has no PostGIS); zones keep latitude/longitude;
-- - requisition.stock_adjustment_reasons is one shared list whose ids are the stock management
--   reason ids (OpenLMIS copies the reasons into each requisition);
-- - like OpenLMIS (one service per schema), there are no foreign keys across schemas.
--
-- REPLICA IDENTITY FULL is set on the tables whose rows are updated or deleted in place by OpenLMIS
-- (statuses, approvals, recalculated stock, membership links), so their CDC events carry whole
-- before-images; append-only tables keep the default (primary key) identity.
--
-- Grants: the data is synthetic, so every role may read it (USAGE on the schemas, SELECT on the
-- tables, to PUBLIC); a replication user needs nothing more than the REPLICATION attribute.

CREATE SCHEMA referencedata;
CREATE SCHEMA requisition;
CREATE SCHEMA stockmanagement;
CREATE SCHEMA fulfillment;

-- ---------------------------------------------------------------------------------------------
-- referencedata
-- ---------------------------------------------------------------------------------------------

CREATE TABLE referencedata.geographic_levels (
    id uuid PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text,
    levelnumber integer NOT NULL
);

CREATE TABLE referencedata.geographic_zones (
    id uuid PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text,
    levelid uuid NOT NULL,
    parentid uuid,
    catchmentpopulation integer,
    latitude numeric(8, 5),
    longitude numeric(8, 5),
    extradata jsonb
);

CREATE TABLE referencedata.facility_types (
    id uuid PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text,
    description text,
    displayorder integer,
    active boolean
);

CREATE TABLE referencedata.facility_operators (
    id uuid PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text,
    description text,
    displayorder integer
);

CREATE TABLE referencedata.facilities (
    id uuid PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text,
    description text,
    active boolean NOT NULL,
    enabled boolean NOT NULL,
    golivedate date,
    godowndate date,
    comment text,
    openlmisaccessible boolean,
    geographiczoneid uuid NOT NULL,
    typeid uuid NOT NULL,
    operatedbyid uuid,
    extradata jsonb
);

CREATE TABLE referencedata.programs (
    id uuid PRIMARY KEY,
    code varchar(255) UNIQUE,
    name text,
    description text,
    active boolean,
    periodsskippable boolean NOT NULL,
    shownonfullsupplytab boolean,
    enabledatephysicalstockcountcompleted boolean NOT NULL,
    skipauthorization boolean DEFAULT false
);

CREATE TABLE referencedata.dispensables (
    id uuid PRIMARY KEY,
    type varchar(255) NOT NULL,
    dispensingunit varchar(255),
    sizecode varchar(255),
    routeofadministration varchar(255)
);

CREATE TABLE referencedata.orderable_display_categories (
    id uuid PRIMARY KEY,
    code varchar(255) UNIQUE,
    displayname varchar(255),
    displayorder integer NOT NULL
);

CREATE TABLE referencedata.orderables (
    id uuid NOT NULL,
    versionnumber bigint NOT NULL,
    code varchar(255) NOT NULL,
    fullproductname varchar(255),
    description varchar(255),
    packroundingthreshold bigint NOT NULL,
    netcontent bigint NOT NULL,
    roundtozero boolean NOT NULL,
    dispensableid uuid NOT NULL,
    lastupdated timestamptz NOT NULL,
    extradata jsonb,
    PRIMARY KEY (id, versionnumber),
    UNIQUE (code, versionnumber)
);

CREATE TABLE referencedata.orderable_identifiers (
    orderableid uuid NOT NULL,
    orderableversionnumber bigint NOT NULL,
    key varchar(255) NOT NULL,
    value varchar(255) NOT NULL,
    PRIMARY KEY (orderableid, orderableversionnumber, key)
);

CREATE TABLE referencedata.program_orderables (
    id uuid PRIMARY KEY,
    programid uuid NOT NULL,
    orderableid uuid NOT NULL,
    orderableversionnumber bigint NOT NULL,
    active boolean NOT NULL,
    displayorder integer NOT NULL,
    dosespermonth integer,
    fullsupply boolean NOT NULL,
    priceperpack numeric(19, 2),
    orderabledisplaycategoryid uuid NOT NULL
);

-- Versioned like orderables; it names the orderable by id only (no version), as in OpenLMIS.
CREATE TABLE referencedata.facility_type_approved_products (
    id uuid NOT NULL,
    versionnumber bigint NOT NULL,
    orderableid uuid NOT NULL,
    programid uuid NOT NULL,
    facilitytypeid uuid NOT NULL,
    maxperiodsofstock double precision NOT NULL,
    minperiodsofstock double precision,
    emergencyorderpoint double precision,
    active boolean NOT NULL,
    lastupdated timestamptz NOT NULL,
    PRIMARY KEY (id, versionnumber)
);

CREATE TABLE referencedata.trade_items (
    id uuid PRIMARY KEY,
    manufactureroftradeitem text,
    gtin text UNIQUE
);

CREATE TABLE referencedata.lots (
    id uuid PRIMARY KEY,
    lotcode text NOT NULL,
    expirationdate date,
    manufacturedate date,
    tradeitemid uuid NOT NULL,
    active boolean NOT NULL,
    UNIQUE (lotcode, tradeitemid)
);

CREATE TABLE referencedata.processing_schedules (
    id uuid PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text NOT NULL UNIQUE,
    description text,
    modifieddate timestamptz
);

CREATE TABLE referencedata.processing_periods (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    description text,
    startdate date NOT NULL,
    enddate date NOT NULL,
    processingscheduleid uuid NOT NULL,
    extradata jsonb,
    UNIQUE (name, processingscheduleid),
    CHECK (startdate <= enddate)
);

CREATE TABLE referencedata.users (
    id uuid PRIMARY KEY,
    username text NOT NULL UNIQUE,
    firstname text NOT NULL,
    lastname text NOT NULL,
    jobtitle text,
    active boolean NOT NULL,
    homefacilityid uuid
);

CREATE TABLE referencedata.supervisory_nodes (
    id uuid PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text,
    description text,
    facilityid uuid,
    parentid uuid
);

CREATE TABLE referencedata.requisition_groups (
    id uuid PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text NOT NULL,
    description text,
    supervisorynodeid uuid NOT NULL
);

CREATE TABLE referencedata.requisition_group_members (
    requisitiongroupid uuid NOT NULL,
    facilityid uuid NOT NULL,
    PRIMARY KEY (requisitiongroupid, facilityid)
);

CREATE TABLE referencedata.requisition_group_program_schedules (
    id uuid PRIMARY KEY,
    requisitiongroupid uuid NOT NULL,
    programid uuid NOT NULL,
    processingscheduleid uuid NOT NULL,
    directdelivery boolean NOT NULL,
    dropofffacilityid uuid,
    UNIQUE (requisitiongroupid, programid)
);

CREATE TABLE referencedata.supported_programs (
    facilityid uuid NOT NULL,
    programid uuid NOT NULL,
    active boolean NOT NULL,
    startdate date,
    locallyfulfilled boolean NOT NULL DEFAULT false,
    PRIMARY KEY (facilityid, programid)
);

-- ---------------------------------------------------------------------------------------------
-- requisition
-- ---------------------------------------------------------------------------------------------

CREATE TABLE requisition.requisitions (
    id uuid PRIMARY KEY,
    facilityid uuid NOT NULL,
    programid uuid NOT NULL,
    processingperiodid uuid NOT NULL,
    status varchar(255) NOT NULL,
    emergency boolean NOT NULL,
    reportonly boolean NOT NULL DEFAULT false,
    numberofmonthsinperiod integer NOT NULL,
    datephysicalstockcountcompleted date,
    supervisorynodeid uuid,
    createddate timestamptz,
    modifieddate timestamptz,
    version bigint,
    draftstatusmessage text,
    extradata jsonb
);

CREATE TABLE requisition.requisition_line_items (
    id uuid PRIMARY KEY,
    requisitionid uuid NOT NULL,
    orderableid uuid NOT NULL,
    orderableversionnumber bigint NOT NULL,
    beginningbalance integer,
    totalreceivedquantity integer,
    totalconsumedquantity integer,
    totallossesandadjustments integer,
    stockonhand integer,
    totalstockoutdays integer,
    total integer,
    adjustedconsumption integer,
    averageconsumption integer,
    maxperiodsofstock numeric(19, 2),
    maximumstockquantity integer,
    calculatedorderquantity integer,
    requestedquantity integer,
    requestedquantityexplanation text,
    approvedquantity integer,
    packstoship bigint,
    priceperpack numeric(19, 2),
    totalcost numeric(19, 2),
    skipped boolean NOT NULL,
    nonfullsupply boolean NOT NULL,
    remarks text
);

CREATE TABLE requisition.status_changes (
    id uuid PRIMARY KEY,
    requisitionid uuid NOT NULL,
    status varchar(255) NOT NULL,
    createddate timestamptz NOT NULL,
    authorid uuid,
    supervisorynodeid uuid
);

CREATE TABLE requisition.stock_adjustment_reasons (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    description text,
    reasontype text NOT NULL,
    reasoncategory text NOT NULL,
    isfreetextallowed boolean NOT NULL,
    hidden boolean NOT NULL
);

CREATE TABLE requisition.stock_adjustments (
    id uuid PRIMARY KEY,
    reasonid uuid NOT NULL,
    quantity integer NOT NULL,
    requisitionlineitemid uuid NOT NULL
);

-- ---------------------------------------------------------------------------------------------
-- stockmanagement
-- ---------------------------------------------------------------------------------------------

-- Sources and destinations of stock movements; referenceid is a referencedata facility id.
CREATE TABLE stockmanagement.nodes (
    id uuid PRIMARY KEY,
    referenceid uuid NOT NULL,
    isrefdatafacility boolean NOT NULL
);

CREATE TABLE stockmanagement.stock_card_line_item_reasons (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    description text,
    reasontype text NOT NULL,
    reasoncategory text NOT NULL,
    isfreetextallowed boolean NOT NULL
);

CREATE TABLE stockmanagement.stock_events (
    id uuid PRIMARY KEY,
    facilityid uuid NOT NULL,
    programid uuid NOT NULL,
    processeddate timestamptz NOT NULL,
    userid uuid,
    documentnumber varchar(255),
    signature varchar(255)
);

CREATE TABLE stockmanagement.stock_cards (
    id uuid PRIMARY KEY,
    facilityid uuid NOT NULL,
    programid uuid NOT NULL,
    orderableid uuid NOT NULL,
    lotid uuid,
    origineventid uuid NOT NULL,
    isactive boolean NOT NULL
);

-- quantity is unsigned: a source or a CREDIT reason adds it, a destination or a DEBIT reason removes
-- it, and a line with none of these is a physical inventory count (the new stock on hand).
CREATE TABLE stockmanagement.stock_card_line_items (
    id uuid PRIMARY KEY,
    stockcardid uuid NOT NULL,
    origineventid uuid NOT NULL,
    quantity integer NOT NULL,
    reasonid uuid,
    sourceid uuid,
    destinationid uuid,
    occurreddate date NOT NULL,
    processeddate timestamptz NOT NULL,
    userid uuid,
    documentnumber varchar(255),
    signature varchar(255),
    reasonfreetext varchar(255),
    sourcefreetext varchar(255),
    destinationfreetext varchar(255),
    extradata jsonb
);

CREATE TABLE stockmanagement.calculated_stocks_on_hand (
    id uuid PRIMARY KEY,
    stockcardid uuid NOT NULL,
    stockonhand integer NOT NULL,
    occurreddate date NOT NULL,
    processeddate timestamptz,
    UNIQUE (stockcardid, occurreddate)
);

-- ---------------------------------------------------------------------------------------------
-- fulfillment (quantities in packs)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE fulfillment.orders (
    id uuid PRIMARY KEY,
    externalid uuid NOT NULL,
    emergency boolean NOT NULL,
    facilityid uuid NOT NULL,
    processingperiodid uuid NOT NULL,
    programid uuid NOT NULL,
    requestingfacilityid uuid NOT NULL,
    receivingfacilityid uuid NOT NULL,
    supplyingfacilityid uuid NOT NULL,
    ordercode text NOT NULL UNIQUE,
    status text NOT NULL,
    quotedcost numeric(19, 2) NOT NULL,
    createddate timestamptz NOT NULL,
    createdbyid uuid NOT NULL,
    lastupdateddate timestamptz,
    lastupdaterid uuid
);

CREATE TABLE fulfillment.order_line_items (
    id uuid PRIMARY KEY,
    orderid uuid NOT NULL,
    orderableid uuid NOT NULL,
    orderableversionnumber bigint NOT NULL,
    orderedquantity bigint NOT NULL
);

CREATE TABLE fulfillment.shipments (
    id uuid PRIMARY KEY,
    orderid uuid NOT NULL UNIQUE,
    shippedbyid uuid NOT NULL,
    shippeddate timestamptz NOT NULL,
    notes text,
    extradata jsonb
);

CREATE TABLE fulfillment.shipment_line_items (
    id uuid PRIMARY KEY,
    shipmentid uuid NOT NULL,
    orderableid uuid NOT NULL,
    orderableversionnumber bigint NOT NULL,
    lotid uuid,
    quantityshipped bigint NOT NULL
);

CREATE TABLE fulfillment.proofs_of_delivery (
    id uuid PRIMARY KEY,
    shipmentid uuid NOT NULL UNIQUE,
    status text NOT NULL,
    deliveredby text,
    receivedby text,
    receiveddate date
);

CREATE TABLE fulfillment.proof_of_delivery_line_items (
    id uuid PRIMARY KEY,
    proofofdeliveryid uuid NOT NULL,
    orderableid uuid NOT NULL,
    orderableversionnumber bigint NOT NULL,
    lotid uuid,
    quantityaccepted integer,
    quantityrejected integer,
    notes text
);

-- @after-load
-- Everything below runs once the rows are in: checking each foreign key once per table (one join)
-- instead of once per copied row, and building each index in one pass, makes seeding about twice as
-- fast. The resulting schema is the same.

-- ---------------------------------------------------------------------------------------------
-- Foreign keys (within each schema)
-- ---------------------------------------------------------------------------------------------

-- referencedata

ALTER TABLE referencedata.geographic_zones ADD FOREIGN KEY (levelid) REFERENCES referencedata.geographic_levels (id);
ALTER TABLE referencedata.geographic_zones ADD FOREIGN KEY (parentid) REFERENCES referencedata.geographic_zones (id);
ALTER TABLE referencedata.facilities ADD FOREIGN KEY (geographiczoneid) REFERENCES referencedata.geographic_zones (id);
ALTER TABLE referencedata.facilities ADD FOREIGN KEY (typeid) REFERENCES referencedata.facility_types (id);
ALTER TABLE referencedata.facilities ADD FOREIGN KEY (operatedbyid) REFERENCES referencedata.facility_operators (id);
ALTER TABLE referencedata.orderables ADD FOREIGN KEY (dispensableid) REFERENCES referencedata.dispensables (id);
ALTER TABLE referencedata.orderable_identifiers ADD FOREIGN KEY (orderableid, orderableversionnumber)
    REFERENCES referencedata.orderables (id, versionnumber);
ALTER TABLE referencedata.program_orderables ADD FOREIGN KEY (programid) REFERENCES referencedata.programs (id);
ALTER TABLE referencedata.program_orderables ADD FOREIGN KEY (orderabledisplaycategoryid)
    REFERENCES referencedata.orderable_display_categories (id);
ALTER TABLE referencedata.program_orderables ADD FOREIGN KEY (orderableid, orderableversionnumber)
    REFERENCES referencedata.orderables (id, versionnumber);
ALTER TABLE referencedata.facility_type_approved_products ADD FOREIGN KEY (programid)
    REFERENCES referencedata.programs (id);
ALTER TABLE referencedata.facility_type_approved_products ADD FOREIGN KEY (facilitytypeid)
    REFERENCES referencedata.facility_types (id);
ALTER TABLE referencedata.lots ADD FOREIGN KEY (tradeitemid) REFERENCES referencedata.trade_items (id);
ALTER TABLE referencedata.processing_periods ADD FOREIGN KEY (processingscheduleid)
    REFERENCES referencedata.processing_schedules (id);
ALTER TABLE referencedata.users ADD FOREIGN KEY (homefacilityid) REFERENCES referencedata.facilities (id);
ALTER TABLE referencedata.supervisory_nodes ADD FOREIGN KEY (facilityid) REFERENCES referencedata.facilities (id);
ALTER TABLE referencedata.supervisory_nodes ADD FOREIGN KEY (parentid) REFERENCES referencedata.supervisory_nodes (id);
ALTER TABLE referencedata.requisition_groups ADD FOREIGN KEY (supervisorynodeid)
    REFERENCES referencedata.supervisory_nodes (id);
ALTER TABLE referencedata.requisition_group_members ADD FOREIGN KEY (requisitiongroupid)
    REFERENCES referencedata.requisition_groups (id);
ALTER TABLE referencedata.requisition_group_members ADD FOREIGN KEY (facilityid)
    REFERENCES referencedata.facilities (id);
ALTER TABLE referencedata.requisition_group_program_schedules ADD FOREIGN KEY (requisitiongroupid)
    REFERENCES referencedata.requisition_groups (id);
ALTER TABLE referencedata.requisition_group_program_schedules ADD FOREIGN KEY (programid)
    REFERENCES referencedata.programs (id);
ALTER TABLE referencedata.requisition_group_program_schedules ADD FOREIGN KEY (processingscheduleid)
    REFERENCES referencedata.processing_schedules (id);
ALTER TABLE referencedata.requisition_group_program_schedules ADD FOREIGN KEY (dropofffacilityid)
    REFERENCES referencedata.facilities (id);
ALTER TABLE referencedata.supported_programs ADD FOREIGN KEY (facilityid) REFERENCES referencedata.facilities (id);
ALTER TABLE referencedata.supported_programs ADD FOREIGN KEY (programid) REFERENCES referencedata.programs (id);

-- requisition

ALTER TABLE requisition.requisition_line_items ADD FOREIGN KEY (requisitionid) REFERENCES requisition.requisitions (id);
ALTER TABLE requisition.status_changes ADD FOREIGN KEY (requisitionid) REFERENCES requisition.requisitions (id);
ALTER TABLE requisition.stock_adjustments ADD FOREIGN KEY (reasonid)
    REFERENCES requisition.stock_adjustment_reasons (id);
ALTER TABLE requisition.stock_adjustments ADD FOREIGN KEY (requisitionlineitemid)
    REFERENCES requisition.requisition_line_items (id);

-- stockmanagement

ALTER TABLE stockmanagement.stock_cards ADD FOREIGN KEY (origineventid) REFERENCES stockmanagement.stock_events (id);
ALTER TABLE stockmanagement.stock_card_line_items ADD FOREIGN KEY (stockcardid)
    REFERENCES stockmanagement.stock_cards (id);
ALTER TABLE stockmanagement.stock_card_line_items ADD FOREIGN KEY (origineventid)
    REFERENCES stockmanagement.stock_events (id);
ALTER TABLE stockmanagement.stock_card_line_items ADD FOREIGN KEY (reasonid)
    REFERENCES stockmanagement.stock_card_line_item_reasons (id);
ALTER TABLE stockmanagement.stock_card_line_items ADD FOREIGN KEY (sourceid) REFERENCES stockmanagement.nodes (id);
ALTER TABLE stockmanagement.stock_card_line_items ADD FOREIGN KEY (destinationid) REFERENCES stockmanagement.nodes (id);
ALTER TABLE stockmanagement.calculated_stocks_on_hand ADD FOREIGN KEY (stockcardid)
    REFERENCES stockmanagement.stock_cards (id);

-- fulfillment

ALTER TABLE fulfillment.order_line_items ADD FOREIGN KEY (orderid) REFERENCES fulfillment.orders (id);
ALTER TABLE fulfillment.shipments ADD FOREIGN KEY (orderid) REFERENCES fulfillment.orders (id);
ALTER TABLE fulfillment.shipment_line_items ADD FOREIGN KEY (shipmentid) REFERENCES fulfillment.shipments (id);
ALTER TABLE fulfillment.proofs_of_delivery ADD FOREIGN KEY (shipmentid) REFERENCES fulfillment.shipments (id);
ALTER TABLE fulfillment.proof_of_delivery_line_items ADD FOREIGN KEY (proofofdeliveryid)
    REFERENCES fulfillment.proofs_of_delivery (id);

-- ---------------------------------------------------------------------------------------------
-- Indexes: lookups by parent, and the partial unique indexes OpenLMIS has
-- ---------------------------------------------------------------------------------------------

CREATE INDEX facilities_geographiczoneid_idx ON referencedata.facilities (geographiczoneid);
CREATE UNIQUE INDEX program_orderables_active_unique
    ON referencedata.program_orderables (programid, orderableid, orderableversionnumber) WHERE active;
CREATE UNIQUE INDEX requisitions_regular_unique
    ON requisition.requisitions (facilityid, programid, processingperiodid) WHERE NOT emergency;
CREATE INDEX requisition_line_items_requisitionid_idx ON requisition.requisition_line_items (requisitionid);
CREATE INDEX status_changes_requisitionid_idx ON requisition.status_changes (requisitionid);
CREATE UNIQUE INDEX stock_cards_unique_with_lot
    ON stockmanagement.stock_cards (facilityid, programid, orderableid, lotid) WHERE lotid IS NOT NULL;
CREATE UNIQUE INDEX stock_cards_unique_without_lot
    ON stockmanagement.stock_cards (facilityid, programid, orderableid) WHERE lotid IS NULL;
CREATE INDEX stock_card_line_items_stockcardid_idx ON stockmanagement.stock_card_line_items (stockcardid);

-- ---------------------------------------------------------------------------------------------
-- Replica identity and grants
-- ---------------------------------------------------------------------------------------------

ALTER TABLE referencedata.supported_programs REPLICA IDENTITY FULL;
ALTER TABLE referencedata.requisition_group_members REPLICA IDENTITY FULL;
ALTER TABLE requisition.requisitions REPLICA IDENTITY FULL;
ALTER TABLE requisition.requisition_line_items REPLICA IDENTITY FULL;
ALTER TABLE stockmanagement.stock_cards REPLICA IDENTITY FULL;
ALTER TABLE stockmanagement.calculated_stocks_on_hand REPLICA IDENTITY FULL;
ALTER TABLE fulfillment.orders REPLICA IDENTITY FULL;
ALTER TABLE fulfillment.proofs_of_delivery REPLICA IDENTITY FULL;

GRANT USAGE ON SCHEMA referencedata, requisition, stockmanagement, fulfillment TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA referencedata, requisition, stockmanagement, fulfillment TO PUBLIC;
