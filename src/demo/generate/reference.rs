//! Reference data: geography, facilities, programs, the product catalogue, schedules and periods,
//! the supervision hierarchy and users, and which facilities report requisitions or keep stock
//! cards (the transactional parts build on these choices).

use std::collections::{BTreeMap, BTreeSet};

use super::{AS_OF, Scale};
use crate::demo::calendar::Date;
use crate::demo::names::{self, CATEGORIES, FAMILIES, FORMS, PACK_SIZES, PROGRAMS, REGIONS};
use crate::demo::random::{Draw, Id};
use crate::demo::rows::*;

/// Facility types, in `referencedata.facility_types` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    HealthCenter,
    HealthPost,
    DistrictHospital,
    CentralHospital,
    Dispensary,
    PrivateClinic,
    DistrictStore,
    Warehouse,
}

/// (kind, code, name, facility code prefix, name suffix, max periods of stock in tenths)
const KINDS: &[(Kind, &str, &str, &str, &str, i64)] = &[
    (Kind::HealthCenter, "health_center", "Health Center", "HC", "Health Centre", 30),
    (Kind::HealthPost, "health_post", "Health Post", "HP", "Health Post", 20),
    (Kind::DistrictHospital, "district_hospital", "District Hospital", "DH", "District Hospital", 40),
    (Kind::CentralHospital, "central_hospital", "Central Hospital", "CH", "Central Hospital", 40),
    (Kind::Dispensary, "dispensary", "Dispensary", "DI", "Dispensary", 30),
    (Kind::PrivateClinic, "private_clinic", "Private Clinic", "PC", "Private Clinic", 30),
    (Kind::DistrictStore, "district_store", "District Store", "DS", "District Health Office Store", 60),
    (Kind::Warehouse, "warehouse", "Warehouse", "WH", "Warehouse", 60),
];

impl Kind {
    fn index(self) -> usize {
        self as usize
    }

    /// Maximum periods of stock (tenths) approved for this facility type.
    pub fn max_periods_tenths(self) -> i64 {
        KINDS[self.index()].5
    }

    /// How much more than a health centre this type consumes.
    pub fn size(self) -> f64 {
        match self {
            Kind::HealthPost => 0.4,
            Kind::Dispensary | Kind::PrivateClinic => 0.6,
            Kind::HealthCenter => 1.0,
            Kind::DistrictHospital => 3.0,
            Kind::CentralHospital | Kind::DistrictStore | Kind::Warehouse => 6.0,
        }
    }

    fn supplies(self) -> bool {
        matches!(self, Kind::DistrictStore | Kind::Warehouse)
    }
}

pub struct FacilityInfo {
    pub id: Id,
    pub kind: Kind,
    pub district: usize,
    pub active: bool,
    /// Indexes into `PROGRAMS` of the programs it actively supports, ascending.
    pub programs: Vec<usize>,
}

pub struct ProgramInfo {
    pub id: Id,
    pub skippable: bool,
    pub stock_count_date: bool,
    pub monthly: bool,
}

/// A product as requisitions and stock cards use it (its latest version).
#[derive(Clone)]
pub struct Product {
    pub id: Id,
    pub version: i64,
    pub netcontent: i64,
    pub packroundingthreshold: i64,
    pub roundtozero: bool,
    /// Price per pack in hundredths, in its program.
    pub price: i64,
    /// Lots of its trade item, for lot-managed products.
    pub lots: Vec<Id>,
    /// Typical monthly consumption at a health centre, in dispensing units.
    pub monthly_demand: f64,
}

pub struct PeriodInfo {
    pub id: Id,
    pub start: Date,
    pub end: Date,
}

/// A facility and program that keep stock cards for `cards` products of the program's core list.
pub struct StockGroup {
    pub facility: usize,
    pub program: usize,
    pub cards: usize,
}

#[derive(Default)]
pub struct Reference {
    pub levels: Vec<GeographicLevel>,
    pub zones: Vec<GeographicZone>,
    pub facility_types: Vec<FacilityType>,
    pub operators: Vec<FacilityOperator>,
    pub facilities: Vec<Facility>,
    pub programs: Vec<Program>,
    pub dispensables: Vec<Dispensable>,
    pub categories: Vec<DisplayCategory>,
    pub orderables: Vec<Orderable>,
    pub identifiers: Vec<OrderableIdentifier>,
    pub program_orderables: Vec<ProgramOrderable>,
    pub approved_products: Vec<ApprovedProduct>,
    pub trade_items: Vec<TradeItem>,
    pub lots: Vec<Lot>,
    pub schedules: Vec<Schedule>,
    pub periods: Vec<Period>,
    pub users: Vec<User>,
    pub supervisory_nodes: Vec<SupervisoryNode>,
    pub groups: Vec<RequisitionGroup>,
    pub members: Vec<GroupMember>,
    pub group_schedules: Vec<GroupSchedule>,
    pub supported: Vec<SupportedProgram>,
    pub reasons: Vec<Reason>,

    pub facility_info: Vec<FacilityInfo>,
    pub program_info: Vec<ProgramInfo>,
    /// Per program: the full-supply products every requisition lists.
    pub core: Vec<Vec<Product>>,
    /// Per program: some non-full-supply products, for the occasional extra requisition line.
    pub non_full_supply: Vec<Vec<Product>>,
    pub monthly_periods: Vec<PeriodInfo>,
    pub quarterly_periods: Vec<PeriodInfo>,
    /// Per district: its store (the supplying facility) and the facilities in it.
    pub district_store: Vec<usize>,
    pub district_facilities: Vec<Vec<usize>>,
    /// Per district: the district's supervisory node and its region's.
    pub district_node: Vec<Id>,
    pub region_node_of_district: Vec<Id>,
    /// Per district: the pharmacist who releases orders and the approver.
    pub store_manager: Vec<Id>,
    pub approver: Vec<Id>,
    /// The user of each facility that reports or keeps stock.
    pub clerk: BTreeMap<usize, Id>,
    /// Facilities that report requisitions, ascending.
    pub reporting: Vec<usize>,
    pub stock_groups: Vec<StockGroup>,
}

pub fn generate(seed: u64, scale: Scale) -> Reference {
    let mut r = Reference::default();
    let cities = geography(&mut r, &mut Draw::stream(seed, "geography"));
    facilities(&mut r, &cities, scale, &mut Draw::stream(seed, "facilities"));
    programs(&mut r, &mut Draw::stream(seed, "programs"));
    catalogue(&mut r, scale, &mut Draw::stream(seed, "catalogue"));
    schedules(&mut r, &mut Draw::stream(seed, "schedules"));
    supervision(&mut r, scale, &mut Draw::stream(seed, "supervision"));
    reasons(&mut r, &mut Draw::stream(seed, "reasons"));
    r
}

/// A city: its zone id, district, name and population (weight for placing facilities).
struct City {
    zone: Id,
    district: usize,
    name: String,
    population: i64,
}

fn degrees(value: f64) -> i64 {
    (value * 100_000.0).round() as i64
}

fn geography(r: &mut Reference, d: &mut Draw) -> Vec<City> {
    let levels = [("Country", "Country", 1), ("Region", "Region", 2), ("District", "District", 3), ("City", "City", 4)];
    for (code, name, number) in levels {
        r.levels.push(GeographicLevel { id: d.id(), code, name, levelnumber: number });
    }
    let country = d.id();
    let population = 19_600_000;
    r.zones.push(GeographicZone {
        id: country,
        code: "MW".into(),
        name: "Malawi".into(),
        levelid: r.levels[0].id,
        parentid: None,
        catchmentpopulation: population,
        latitude: degrees(-13.25),
        longitude: degrees(34.3),
    });
    let region_share = [0.13, 0.43, 0.44];
    let mut districts = Vec::new();
    for (region, share) in REGIONS.iter().zip(region_share) {
        let region_id = d.id();
        let region_pop = (population as f64 * share) as i64;
        r.zones.push(GeographicZone {
            id: region_id,
            code: format!("MW-{}", region.code),
            name: region.name.into(),
            levelid: r.levels[1].id,
            parentid: Some(country),
            catchmentpopulation: region_pop,
            latitude: degrees((region.lat_north + region.lat_south) / 2.0),
            longitude: degrees((region.lon_west + region.lon_east) / 2.0),
        });
        let weights: Vec<f64> = region
            .districts
            .iter()
            .map(|(_, name)| d.around_one(0.5) * if matches!(*name, "Lilongwe" | "Blantyre") { 3.0 } else { 1.0 })
            .collect();
        let total: f64 = weights.iter().sum();
        for ((code, name), weight) in region.districts.iter().zip(weights) {
            let lat = d.uniform(region.lat_south + 0.2, region.lat_north - 0.2);
            let lon = d.uniform(region.lon_west, region.lon_east);
            districts.push((region, region_id, *code, *name, (region_pop as f64 * weight / total) as i64, lat, lon));
        }
    }
    // Every district gets six cities and the five most populous one more: 28 * 6 + 5 = 173.
    let mut by_size: Vec<usize> = (0..districts.len()).collect();
    by_size.sort_by_key(|&i| std::cmp::Reverse(districts[i].4));
    let big: BTreeSet<usize> = by_size.into_iter().take(5).collect();
    let mut used_names = BTreeSet::new();
    let mut cities = Vec::new();
    for (index, (region, region_id, code, name, pop, lat, lon)) in districts.into_iter().enumerate() {
        let district_id = d.id();
        let district_code = format!("MW-{}-{code}", region.code);
        r.zones.push(GeographicZone {
            id: district_id,
            code: district_code.clone(),
            name: name.into(),
            levelid: r.levels[2].id,
            parentid: Some(region_id),
            catchmentpopulation: pop,
            latitude: degrees(lat),
            longitude: degrees(lon),
        });
        let count = 6 + usize::from(big.contains(&index));
        for n in 0..count {
            let city_name = if n == 0 { format!("{name} Boma") } else { place_name(d, &mut used_names) };
            let share = if n == 0 { 0.3 * d.around_one(0.3) } else { d.uniform(0.04, 0.14) };
            let city = City { zone: d.id(), district: index, name: city_name, population: (pop as f64 * share) as i64 };
            r.zones.push(GeographicZone {
                id: city.zone,
                code: format!("{district_code}-{:02}", n + 1),
                name: city.name.clone(),
                levelid: r.levels[3].id,
                parentid: Some(district_id),
                catchmentpopulation: city.population,
                latitude: degrees(lat + d.uniform(-0.25, 0.25)),
                longitude: degrees(lon + d.uniform(-0.25, 0.25)),
            });
            cities.push(city);
        }
        r.district_facilities.push(Vec::new());
    }
    cities
}

fn place_name(d: &mut Draw, used: &mut BTreeSet<String>) -> String {
    loop {
        let syllables = 2 + d.below(2) as usize;
        let mut name = String::new();
        for _ in 0..syllables {
            name.push_str(d.pick::<&str>(names::PLACE_SYLLABLES));
        }
        let mut chars = name.chars();
        let name = match chars.next() {
            Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
            None => continue,
        };
        if used.insert(name.clone()) {
            return name;
        }
    }
}

fn facilities(r: &mut Reference, cities: &[City], scale: Scale, d: &mut Draw) {
    for (i, (_, code, name, ..)) in KINDS.iter().enumerate() {
        r.facility_types.push(FacilityType { id: d.id(), code, name, displayorder: i as i64 + 1 });
    }
    let operators = [
        ("moh", "Ministry of Health"),
        ("chag", "Christian Health Association of Malawi"),
        ("private", "Private"),
        ("ngo", "Non-governmental organisation"),
    ];
    for (i, (code, name)) in operators.into_iter().enumerate() {
        r.operators.push(FacilityOperator { id: d.id(), code, name, displayorder: i as i64 + 1 });
    }
    let boma = |district: usize| cities.iter().position(|c| c.district == district).unwrap_or(0);
    let district_count = r.district_facilities.len();
    // The supply chain's fixed backbone: national and regional warehouses, a store and a hospital
    // per district, four central hospitals.
    let mut placed: Vec<(Kind, usize)> = vec![(Kind::Warehouse, boma(district_index("Lilongwe")))];
    for region in ["Mzimba", "Lilongwe", "Blantyre"] {
        placed.push((Kind::Warehouse, boma(district_index(region))));
    }
    for district in 0..district_count {
        placed.push((Kind::DistrictStore, boma(district)));
        placed.push((Kind::DistrictHospital, boma(district)));
    }
    for city in ["Lilongwe", "Blantyre", "Mzimba", "Zomba"] {
        placed.push((Kind::CentralHospital, boma(district_index(city))));
    }
    let total = 2_700 * scale.factor() as usize;
    let weights: Vec<u32> = cities.iter().map(|c| (c.population / 1_000).max(1) as u32).collect();
    let mix = [(Kind::HealthCenter, 50), (Kind::HealthPost, 28), (Kind::Dispensary, 10), (Kind::PrivateClinic, 12)];
    let mix_weights: Vec<u32> = mix.iter().map(|m| m.1).collect();
    while placed.len() < total {
        let kind = mix[d.weighted(&mix_weights)].0;
        placed.push((kind, d.weighted(&weights)));
    }
    let region_names = ["Northern", "Central", "Southern"];
    let mut counters: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut same_name: BTreeMap<(usize, Kind), usize> = BTreeMap::new();
    let mut warehouses = 0;
    for (kind, city_index) in placed {
        let city = &cities[city_index];
        let (_, _, _, prefix, suffix, _) = KINDS[kind.index()];
        let number = counters.entry(kind).or_default();
        *number += 1;
        let district_name = district_name(city.district);
        let name = match kind {
            Kind::Warehouse => {
                warehouses += 1;
                match warehouses {
                    1 => "Central Medical Stores Warehouse".to_string(),
                    n => format!("{} Regional Medical Stores", region_names[n - 2]),
                }
            }
            Kind::DistrictStore | Kind::DistrictHospital | Kind::CentralHospital => {
                format!("{district_name} {suffix}")
            }
            _ => {
                let n = same_name.entry((city_index, kind)).or_default();
                *n += 1;
                let base = city.name.trim_end_matches(" Boma");
                if *n == 1 { format!("{base} {suffix}") } else { format!("{base} {suffix} {n}") }
            }
        };
        let backbone = kind.supplies() || matches!(kind, Kind::DistrictHospital | Kind::CentralHospital);
        let active = backbone || d.chance(0.97);
        let operator = match kind {
            Kind::HealthCenter => *d.pick(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 3]),
            Kind::Dispensary => *d.pick(&[0, 0, 0, 1, 1]),
            Kind::PrivateClinic => 2,
            _ => 0,
        };
        let id = d.id();
        r.facilities.push(Facility {
            id,
            code: format!("{prefix}{:05}", number),
            name,
            active,
            enabled: active || d.chance(0.3),
            golivedate: d.chance(0.6).then(|| d.date(Date::ymd(2016, 1, 1), Date::ymd(2019, 12, 31))),
            godowndate: (!active).then(|| d.date(Date::ymd(2021, 1, 1), Date::ymd(2025, 12, 31))),
            openlmisaccessible: backbone || d.chance(0.95),
            geographiczoneid: city.zone,
            typeid: r.facility_types[kind.index()].id,
            operatedbyid: r.operators[operator].id,
        });
        let index = r.facility_info.len();
        r.district_facilities[city.district].push(index);
        if kind == Kind::DistrictStore {
            r.district_store.push(index);
        }
        r.facility_info.push(FacilityInfo { id, kind, district: city.district, active, programs: Vec::new() });
    }
}

/// Malawi's districts in `REGIONS` order: (region index, code, name).
fn districts() -> impl Iterator<Item = (usize, &'static str, &'static str)> {
    REGIONS
        .iter()
        .enumerate()
        .flat_map(|(region, r)| r.districts.iter().map(move |(code, name)| (region, *code, *name)))
}

fn district_index(name: &str) -> usize {
    districts().position(|(_, _, n)| n == name).unwrap_or(0)
}

fn district_name(district: usize) -> &'static str {
    districts().nth(district).map_or("Malawi", |(_, _, name)| name)
}

fn programs(r: &mut Reference, d: &mut Draw) {
    for &(code, name, skippable, stock_count_date, monthly, _) in PROGRAMS {
        let id = d.id();
        r.programs.push(Program {
            id,
            code,
            name,
            periodsskippable: skippable,
            shownonfullsupplytab: code == "PRG002",
            enabledatephysicalstockcountcompleted: stock_count_date,
        });
        r.program_info.push(ProgramInfo { id, skippable, stock_count_date, monthly });
    }
    // Which programs each facility supports, by type: (program, probability) per kind.
    for (index, info) in r.facility_info.iter_mut().enumerate() {
        let odds: [f64; 8] = match info.kind {
            Kind::DistrictStore | Kind::Warehouse => [1.0; 8],
            Kind::DistrictHospital | Kind::CentralHospital => [1.0, 1.0, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0],
            Kind::HealthCenter => [0.7, 1.0, 0.3, 0.8, 0.5, 0.25, 0.9, 0.6],
            Kind::HealthPost => [0.6, 0.5, 0.3, 0.6, 0.0, 0.0, 0.9, 0.0],
            Kind::Dispensary => [0.5, 1.0, 0.0, 0.0, 0.0, 0.0, 0.8, 0.0],
            Kind::PrivateClinic => [0.5, 1.0, 0.0, 0.0, 0.0, 0.0, 0.6, 0.3],
        };
        let mut supported: Vec<usize> = (0..odds.len()).filter(|&p| d.chance(odds[p])).collect();
        if supported.is_empty() {
            supported.push(1);
        }
        for program in supported {
            let active = info.kind.supplies() || d.chance(0.97);
            r.supported.push(SupportedProgram {
                facilityid: r.facilities[index].id,
                programid: r.program_info[program].id,
                active,
                startdate: d.date(Date::ymd(2016, 1, 1), Date::ymd(2020, 12, 31)),
                locallyfulfilled: info.kind.supplies(),
            });
            if active {
                info.programs.push(program);
            }
        }
    }
}

/// Catalogue share of each of `FAMILIES` (Essential Meds is the largest program).
const FAMILY_WEIGHTS: [u32; 13] = [4, 2, 16, 10, 14, 5, 6, 2, 10, 6, 6, 2, 5];

fn catalogue(r: &mut Reference, scale: Scale, d: &mut Draw) {
    for (unit, route) in UNITS {
        r.dispensables.push(Dispensable { id: d.id(), dispensingunit: unit, routeofadministration: route });
    }
    for (i, (code, name)) in CATEGORIES.iter().enumerate() {
        r.categories.push(DisplayCategory { id: d.id(), code, displayname: name, displayorder: i as i64 + 1 });
    }
    // 9,000 products per scale unit, 1,000 of which also have a second version: 10,000 rows.
    let distinct = 9_000 * scale.factor() as usize;
    let revised = 1_000 * scale.factor() as usize;
    let family_weights: Vec<u32> = FAMILY_WEIGHTS.to_vec();
    struct Draft {
        family: usize,
        item: &'static str,
        name: String,
        form: usize,
        pack: i64,
        core: bool,
    }
    let mut drafts = Vec::with_capacity(distinct);
    // Each program's core list first: its families' items in order, recognisable in dashboards.
    for (program, &(.., core_size)) in PROGRAMS.iter().enumerate() {
        let items: Vec<(usize, &'static str)> = (0..FAMILIES.len())
            .filter(|&f| FAMILIES[f].program == program)
            .flat_map(|f| FAMILIES[f].items.iter().map(move |item| (f, *item)))
            .collect();
        for n in 0..core_size {
            let (family, item) = items[n % items.len()];
            let (name, form, pack) = product_name(d, family, item);
            drafts.push(Draft { family, item, name, form, pack, core: true });
        }
    }
    while drafts.len() < distinct {
        let family = d.weighted(&family_weights);
        let item = *d.pick(FAMILIES[family].items);
        let (name, form, pack) = product_name(d, family, item);
        drafts.push(Draft { family, item, name, form, pack, core: false });
    }
    let mut order: Vec<usize> = (0..distinct).collect();
    d.shuffle(&mut order);
    let revised: BTreeSet<usize> = order.into_iter().take(revised).collect();

    r.core = vec![Vec::new(); PROGRAMS.len()];
    r.non_full_supply = vec![Vec::new(); PROGRAMS.len()];
    let mut display_order = vec![0i64; PROGRAMS.len()];
    for (index, draft) in drafts.iter().enumerate() {
        let family = &FAMILIES[draft.family];
        let id = d.id();
        let code = format!("C{}", 100_000 + index);
        let dispensable = r.dispensables[unit_index(FORMS[draft.form].1)].id;
        let threshold = (draft.pack / 2).max(1);
        let roundtozero = !draft.core && d.chance(0.1);
        let first = d.office_time_between(Date::ymd(2017, 1, 1), Date::ymd(2022, 12, 31));
        r.orderables.push(Orderable {
            id,
            versionnumber: 1,
            code: code.clone(),
            fullproductname: draft.name.clone(),
            packroundingthreshold: threshold,
            netcontent: draft.pack,
            roundtozero,
            dispensableid: dispensable,
            lastupdated: first,
        });
        let mut version = 1;
        let mut pack = draft.pack;
        if revised.contains(&index) {
            // A new pack size: the usual reason a product gets a new version.
            version = 2;
            pack = *d.pick(PACK_SIZES);
            let name = format!("{}, pack of {pack}", draft.name.rsplit_once(", pack of").map_or(draft.item, |p| p.0));
            r.orderables.push(Orderable {
                id,
                versionnumber: 2,
                code,
                fullproductname: name,
                packroundingthreshold: (pack / 2).max(1),
                netcontent: pack,
                roundtozero,
                dispensableid: dispensable,
                lastupdated: d.office_time_between(Date::ymd(2023, 1, 1), Date::ymd(2026, 6, 30)),
            });
        }
        let lot_managed = draft.core && matches!(CATEGORIES[family.category].0, "VACCINES" | "ANTIRETROVIRALS");
        let mut lots = Vec::new();
        if lot_managed {
            let trade_item = d.id();
            r.trade_items.push(TradeItem {
                id: trade_item,
                manufacturer: d.pick::<&str>(names::MANUFACTURERS),
                gtin: format!("{:014}", 6_009_000_000_000u64 + r.trade_items.len() as u64),
            });
            for v in 1..=version {
                r.identifiers.push(OrderableIdentifier {
                    orderableid: id,
                    orderableversionnumber: v,
                    key: "tradeItem",
                    value: trade_item,
                });
            }
            for letter in ['A', 'B', 'C', 'D'] {
                let expiry = d.date(Date::ymd(2025, 6, 1), Date::ymd(2028, 12, 31));
                let lot = d.id();
                r.lots.push(Lot {
                    id: lot,
                    lotcode: format!("LOT-{}-{letter}{}", r.trade_items.len(), d.between(100, 999)),
                    expirationdate: expiry,
                    manufacturedate: expiry.add_days(-(d.between(540, 1080) as i32)),
                    tradeitemid: trade_item,
                });
                lots.push(lot);
            }
        }
        let price = d.between(50, 25_000);
        let program = family.program;
        let mut link = |r: &mut Reference, d: &mut Draw, program: usize, fullsupply: bool| {
            display_order[program] += 1;
            r.program_orderables.push(ProgramOrderable {
                id: d.id(),
                programid: r.program_info[program].id,
                orderableid: id,
                orderableversionnumber: version,
                active: draft.core || d.chance(0.98),
                displayorder: display_order[program],
                dosespermonth: matches!(program, 0 | 3).then_some(1),
                fullsupply,
                priceperpack: price,
                orderabledisplaycategoryid: r.categories[family.category].id,
            });
        };
        let fullsupply = draft.core || d.chance(0.88);
        link(r, d, program, fullsupply);
        let product = Product {
            id,
            version,
            netcontent: pack,
            packroundingthreshold: (pack / 2).max(1),
            roundtozero,
            price,
            lots,
            monthly_demand: d.uniform(20.0, 400.0),
        };
        if draft.core {
            r.core[program].push(product.clone());
        } else if !fullsupply && r.non_full_supply[program].len() < 20 {
            r.non_full_supply[program].push(product.clone());
        }
        // General medicines are also listed, as non-full-supply, in another program.
        if program == 1 && !draft.core && d.chance(0.1) {
            let other = *d.pick(&[0, 2, 3, 4, 5, 6, 7]);
            link(r, d, other, false);
        }
    }
    // Facility type approved products: every requisition type approves its programs' core lists.
    for kind in [
        Kind::HealthCenter,
        Kind::HealthPost,
        Kind::DistrictHospital,
        Kind::CentralHospital,
        Kind::Dispensary,
        Kind::PrivateClinic,
    ] {
        for (program, products) in r.core.iter().enumerate() {
            for product in products {
                let id = d.id();
                let base = ApprovedProduct {
                    id,
                    versionnumber: 1,
                    orderableid: product.id,
                    programid: r.program_info[program].id,
                    facilitytypeid: r.facility_types[kind.index()].id,
                    maxperiodsofstock: kind.max_periods_tenths(),
                    minperiodsofstock: 10,
                    emergencyorderpoint: 5,
                    lastupdated: d.office_time_between(Date::ymd(2018, 1, 1), Date::ymd(2021, 12, 31)),
                };
                if d.chance(0.1) {
                    // A revised emergency order point; the maximum (used by requisitions) stays.
                    let revision = ApprovedProduct {
                        versionnumber: 2,
                        emergencyorderpoint: 10,
                        lastupdated: d.office_time_between(Date::ymd(2022, 1, 1), Date::ymd(2025, 12, 31)),
                        ..base
                    };
                    r.approved_products.push(base);
                    r.approved_products.push(revision);
                } else {
                    r.approved_products.push(base);
                }
            }
        }
    }
}

/// Dispensing units (`referencedata.dispensables`) and their route of administration.
const UNITS: [(&str, &str); 6] = [
    ("tablet", "oral"),
    ("capsule", "oral"),
    ("bottle", "oral"),
    ("vial", "injection"),
    ("sachet", "oral"),
    ("each", "other"),
];

/// The dispensable of a form's unit (every unit in `FORMS` is in `UNITS`: a unit test checks it).
fn unit_index(unit: &str) -> usize {
    UNITS.iter().position(|(u, _)| *u == unit).unwrap_or(UNITS.len() - 1)
}

/// A product name such as "Amoxicillin 250mg capsule, pack of 100", with its form and pack size.
fn product_name(d: &mut Draw, family: usize, item: &str) -> (String, usize, i64) {
    let family = &FAMILIES[family];
    let form = *d.pick(family.forms);
    let (form_name, _, shown) = FORMS[form];
    let pack = *d.pick(PACK_SIZES);
    let name = match (family.strengths, shown) {
        (true, _) => format!("{item} {} {form_name}, pack of {pack}", d.pick::<&str>(names::STRENGTHS)),
        (false, true) => format!("{item} {form_name}, pack of {pack}"),
        (false, false) => format!("{item}, pack of {pack}"),
    };
    (name, form, pack)
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Schedules and their periods from 2010 to the end of the demo's year: 204 monthly, 102
/// bi-monthly, 68 quarterly, 34 half-yearly and 17 yearly periods.
fn schedules(r: &mut Reference, d: &mut Draw) {
    let kinds: [(&str, &str, u32); 5] = [
        ("SCH001", "Monthly", 1),
        ("SCH002", "Bi-monthly", 2),
        ("SCH003", "Quarterly", 3),
        ("SCH004", "Half-yearly", 6),
        ("SCH005", "Yearly", 12),
    ];
    for (code, name, months) in kinds {
        let schedule = d.id();
        r.schedules.push(Schedule { id: schedule, code, name, modifieddate: d.office_time(Date::ymd(2016, 12, 1)) });
        let first = Date::ymd(2010, 1, 1);
        let mut start = first;
        while start.year() <= AS_OF.year() {
            let end = start.month_start_plus(months as i32).add_days(-1);
            let (year, month) = (start.year(), start.month() as usize - 1);
            let last = end.month() as usize - 1;
            let (label, description) = match months {
                1 => (format!("{}{year}", MONTHS[month]), format!("{} {year}", MONTH_NAMES[month])),
                3 => (
                    format!("Q{} {year}", month / 3 + 1),
                    format!("{}-{} {year}", MONTH_NAMES[month], MONTH_NAMES[last]),
                ),
                6 => (
                    format!("H{} {year}", month / 6 + 1),
                    format!("{}-{} {year}", MONTH_NAMES[month], MONTH_NAMES[last]),
                ),
                12 => (format!("{year}"), format!("January-December {year}")),
                _ => (
                    format!("{}-{}{year}", MONTHS[month], MONTHS[last]),
                    format!("{}-{} {year}", MONTH_NAMES[month], MONTH_NAMES[last]),
                ),
            };
            let id = d.id();
            r.periods.push(Period {
                id,
                name: label,
                description,
                startdate: start,
                enddate: end,
                processingscheduleid: schedule,
            });
            let info = PeriodInfo { id, start, end };
            match months {
                1 => r.monthly_periods.push(info),
                3 => r.quarterly_periods.push(info),
                _ => {}
            }
            start = end.add_days(1);
        }
    }
}

/// Supervisory nodes (national, regional, district), requisition groups (one per district, with the
/// facilities that report), their schedules, the stock-keeping facilities, and the users.
fn supervision(r: &mut Reference, scale: Scale, d: &mut Draw) {
    let national_warehouse = 0;
    let national = d.id();
    r.supervisory_nodes.push(SupervisoryNode {
        id: national,
        code: "SN-MW".into(),
        name: "Malawi national approval".into(),
        facilityid: r.facility_info[national_warehouse].id,
        parentid: None,
    });
    let mut region_nodes = Vec::new();
    for (i, region) in REGIONS.iter().enumerate() {
        let id = d.id();
        r.supervisory_nodes.push(SupervisoryNode {
            id,
            code: format!("SN-MW-{}", region.code),
            name: format!("{} approval", region.name),
            facilityid: r.facility_info[1 + i].id,
            parentid: Some(national),
        });
        region_nodes.push(id);
    }
    let district_count = r.district_facilities.len();
    let admin = d.id();
    r.users.push(User {
        id: admin,
        username: "administrator".into(),
        firstname: "Admin",
        lastname: "User",
        jobtitle: "System administrator",
        homefacilityid: r.facility_info[national_warehouse].id,
    });
    let mut used_usernames = BTreeSet::from(["administrator".to_string()]);
    let mut person = |d: &mut Draw, r: &mut Reference, prefix: &str, jobtitle: &'static str, home: usize| -> Id {
        let firstname = *d.pick(names::FIRST_NAMES);
        let lastname = *d.pick(names::LAST_NAMES);
        let mut username = format!("{prefix}.{}", lastname.to_lowercase());
        let mut n = 1;
        while !used_usernames.insert(username.clone()) {
            n += 1;
            username = format!("{prefix}.{}{n}", lastname.to_lowercase());
        }
        let id = d.id();
        r.users.push(User { id, username, firstname, lastname, jobtitle, homefacilityid: r.facility_info[home].id });
        id
    };
    for (district, (region, code, name)) in districts().enumerate().take(district_count) {
        let region_code = REGIONS[region].code;
        let store = r.district_store[district];
        let hospital = r.district_facilities[district]
            .iter()
            .copied()
            .find(|&f| r.facility_info[f].kind == Kind::DistrictHospital)
            .unwrap_or(store);
        let node = d.id();
        r.supervisory_nodes.push(SupervisoryNode {
            id: node,
            code: format!("SN-MW-{region_code}-{code}"),
            name: format!("{name} district approval"),
            facilityid: r.facility_info[hospital].id,
            parentid: Some(region_nodes[region]),
        });
        r.district_node.push(node);
        r.region_node_of_district.push(region_nodes[region]);
        let group = d.id();
        r.groups.push(RequisitionGroup {
            id: group,
            code: format!("RG-MW-{region_code}-{code}"),
            name: format!("{name} requisition group"),
            supervisorynodeid: node,
        });
        for (program, info) in r.program_info.iter().enumerate() {
            r.group_schedules.push(GroupSchedule {
                id: d.id(),
                requisitiongroupid: group,
                programid: info.id,
                processingscheduleid: r.schedules[if PROGRAMS[program].4 { 0 } else { 2 }].id,
            });
        }
        let code = code.to_lowercase();
        let manager = person(d, r, &format!("store.{code}"), "District pharmacist", store);
        r.store_manager.push(manager);
        let approver = person(d, r, &format!("dho.{code}"), "District health officer", hospital);
        r.approver.push(approver);
    }
    // Requisitions come from 100 facilities per scale unit that supervision groups cover.
    let mut candidates: Vec<usize> = (0..r.facility_info.len())
        .filter(|&f| {
            let info = &r.facility_info[f];
            info.active
                && !info.programs.is_empty()
                && matches!(
                    info.kind,
                    Kind::HealthCenter | Kind::DistrictHospital | Kind::CentralHospital | Kind::Dispensary
                )
        })
        .collect();
    d.shuffle(&mut candidates);
    let mut reporting: Vec<usize> = candidates.iter().copied().take(100 * scale.factor() as usize).collect();
    reporting.sort_unstable();
    for &f in &reporting {
        let district = r.facility_info[f].district;
        r.members.push(GroupMember { requisitiongroupid: r.groups[district].id, facilityid: r.facility_info[f].id });
    }
    // Stock cards: 116 per scale unit, kept by facilities for the EPI, Family Planning and
    // Essential Meds core lists (the stock-based programs of the demo).
    let mut pairs: Vec<(usize, usize)> = candidates
        .iter()
        .flat_map(|&f| r.facility_info[f].programs.iter().filter(|p| matches!(p, 0 | 1 | 3)).map(move |&p| (f, p)))
        .collect();
    d.shuffle(&mut pairs);
    let mut cards_left = 116 * scale.factor() as usize;
    for (facility, program) in pairs {
        if cards_left == 0 {
            break;
        }
        let cards = r.core[program].len().min(cards_left);
        cards_left -= cards;
        r.stock_groups.push(StockGroup { facility, program, cards });
    }
    let mut keepers: BTreeSet<usize> = reporting.iter().copied().collect();
    keepers.extend(r.stock_groups.iter().map(|g| g.facility));
    for f in keepers {
        let code = r.facilities[f].code.to_lowercase();
        let id = person(d, r, &code, "Facility storekeeper", f);
        r.clerk.insert(f, id);
    }
    r.reporting = reporting;
}

fn reasons(r: &mut Reference, d: &mut Draw) {
    use Direction::{Credit, Debit};
    let list: [(&str, Direction, &str, bool); 15] = [
        ("Transfer In", Credit, "TRANSFER", true),
        ("Transfer Out", Debit, "TRANSFER", true),
        ("Receipts", Credit, "ADJUSTMENT", false),
        ("Consumed", Debit, "ADJUSTMENT", false),
        ("Facility return", Credit, "ADJUSTMENT", false),
        ("Beginning Balance Excess", Credit, "ADJUSTMENT", false),
        ("Beginning Balance Insufficiency", Debit, "ADJUSTMENT", false),
        ("Damage", Debit, "ADJUSTMENT", false),
        ("Expired", Debit, "ADJUSTMENT", false),
        ("Lost", Debit, "ADJUSTMENT", false),
        ("Stolen", Debit, "ADJUSTMENT", false),
        ("Passed open-vial time limit", Debit, "ADJUSTMENT", false),
        ("Cold chain failure", Debit, "ADJUSTMENT", false),
        ("Unpack Kit", Debit, "AGGREGATION", false),
        ("Unpacked From Kit", Credit, "AGGREGATION", false),
    ];
    for (name, direction, category, freetext) in list {
        r.reasons.push(Reason { id: d.id(), name, direction, category, freetext });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_lists_line_up() {
        assert_eq!(FAMILY_WEIGHTS.len(), FAMILIES.len());
        for (_, unit, _) in FORMS {
            assert!(UNITS.iter().any(|(u, _)| u == unit), "unit {unit} has no dispensable");
        }
        for (i, kind) in KINDS.iter().enumerate() {
            assert_eq!(kind.0.index(), i, "KINDS follows the Kind order");
        }
        for program in 0..PROGRAMS.len() {
            assert!(FAMILIES.iter().any(|f| f.program == program), "program {program} has products");
        }
    }
}
