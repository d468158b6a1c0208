//! Fixed vocabularies the generator draws from: Malawi's regions and districts (real), and word
//! lists for place, person and product names (plausible, not real places, people or products).

/// A region of Malawi with its rough extent in degrees (south and west are negative) and its districts.
pub struct Region {
    pub code: &'static str,
    pub name: &'static str,
    pub lat_north: f64,
    pub lat_south: f64,
    pub lon_west: f64,
    pub lon_east: f64,
    pub districts: &'static [(&'static str, &'static str)],
}

/// Malawi: 3 regions, 28 districts (code, name).
pub const REGIONS: &[Region] = &[
    Region {
        code: "N",
        name: "Northern Region",
        lat_north: -9.4,
        lat_south: -12.0,
        lon_west: 33.0,
        lon_east: 34.4,
        districts: &[
            ("CT", "Chitipa"),
            ("KR", "Karonga"),
            ("LK", "Likoma"),
            ("MZ", "Mzimba"),
            ("NB", "Nkhata Bay"),
            ("RU", "Rumphi"),
        ],
    },
    Region {
        code: "C",
        name: "Central Region",
        lat_north: -12.0,
        lat_south: -14.6,
        lon_west: 32.8,
        lon_east: 34.6,
        districts: &[
            ("DE", "Dedza"),
            ("DO", "Dowa"),
            ("KS", "Kasungu"),
            ("LI", "Lilongwe"),
            ("MC", "Mchinji"),
            ("NK", "Nkhotakota"),
            ("NU", "Ntcheu"),
            ("NI", "Ntchisi"),
            ("SA", "Salima"),
        ],
    },
    Region {
        code: "S",
        name: "Southern Region",
        lat_north: -14.6,
        lat_south: -17.1,
        lon_west: 34.2,
        lon_east: 35.8,
        districts: &[
            ("BA", "Balaka"),
            ("BL", "Blantyre"),
            ("CK", "Chikwawa"),
            ("CR", "Chiradzulu"),
            ("MH", "Machinga"),
            ("MG", "Mangochi"),
            ("MU", "Mulanje"),
            ("MW", "Mwanza"),
            ("NE", "Neno"),
            ("NS", "Nsanje"),
            ("PH", "Phalombe"),
            ("TH", "Thyolo"),
            ("ZO", "Zomba"),
        ],
    },
];

/// Syllables that compose plausible Chichewa-sounding place names.
pub const PLACE_SYLLABLES: &[&str] = &[
    "chi", "ka", "la", "lu", "ma", "mbe", "mpo", "mwa", "nda", "ngo", "nkha", "nso", "ntchi", "phi", "sa", "so", "thu",
    "tu", "wa", "zi", "ze", "mbu", "li", "ko", "ndi", "ya", "njo", "bwe",
];

pub const FIRST_NAMES: &[&str] = &[
    "Chisomo",
    "Thokozani",
    "Limbani",
    "Kondwani",
    "Tiyamike",
    "Mphatso",
    "Dalitso",
    "Chikondi",
    "Madalitso",
    "Tamanda",
    "Yamikani",
    "Pemphero",
    "Chimwemwe",
    "Takondwa",
    "Wezi",
    "Tadala",
    "Kettie",
    "Grace",
    "John",
    "Esther",
];

pub const LAST_NAMES: &[&str] = &[
    "Banda",
    "Phiri",
    "Mwale",
    "Chirwa",
    "Nyirenda",
    "Kamanga",
    "Gondwe",
    "Mbewe",
    "Tembo",
    "Kachingwe",
    "Msiska",
    "Mhango",
    "Chavula",
    "Jere",
    "Zulu",
    "Kumwenda",
    "Ngwira",
    "Kaunda",
    "Moyo",
    "Nkhoma",
];

/// A product family: the program it belongs to, its display category, its items (active
/// ingredients or commodities), the dosage forms it comes in (indexes into `FORMS`), and whether its
/// names carry a strength. Catalogue names combine these with pack sizes.
pub struct Family {
    pub program: usize,
    pub category: usize,
    pub items: &'static [&'static str],
    pub forms: &'static [usize],
    pub strengths: bool,
}

/// Programs, in `PROGRAMS` order: code, name, periods skippable, physical stock count date,
/// monthly (true) or quarterly schedule, core list size (the products every requisition lists).
pub const PROGRAMS: &[(&str, &str, bool, bool, bool, usize)] = &[
    ("PRG001", "Family Planning", true, false, true, 8),
    ("PRG002", "Essential Meds", false, false, true, 15),
    ("PRG003", "Nutrition", true, false, true, 6),
    ("PRG004", "EPI", true, true, true, 10),
    ("PRG005", "ARV", false, true, false, 12),
    ("PRG006", "TB", false, false, false, 8),
    ("PRG007", "Malaria", false, false, true, 8),
    ("PRG008", "HIV Test Kits", false, false, false, 6),
];

pub const CATEGORIES: &[(&str, &str)] = &[
    ("CONTRACEPTIVES", "Contraceptives"),
    ("ANTIBIOTICS", "Antibiotics"),
    ("ANALGESICS", "Analgesics"),
    ("NUTRITION", "Nutrition supplements"),
    ("VACCINES", "Vaccines"),
    ("ANTIRETROVIRALS", "Antiretrovirals"),
    ("TB_MEDICINES", "TB medicines"),
    ("ANTIMALARIALS", "Antimalarials"),
    ("TEST_KITS", "Test kits"),
    ("OTHER", "Other essential medicines"),
];

/// Dosage form, the dispensing unit it is counted in, and whether product names mention it.
pub const FORMS: &[(&str, &str, bool)] = &[
    ("tablet", "tablet", true),
    ("capsule", "capsule", true),
    ("oral suspension", "bottle", true),
    ("injection", "vial", true),
    ("sachet", "sachet", true),
    ("kit", "each", false),
    ("device", "each", false),
    ("vial", "vial", false),
];

const ORAL: &[usize] = &[0, 0, 0, 1, 1, 2];
const ORAL_OR_INJECTION: &[usize] = &[0, 0, 0, 1, 1, 2, 3];

pub const FAMILIES: &[Family] = &[
    Family {
        program: 0,
        category: 0,
        items: &["Levonorgestrel", "Medroxyprogesterone acetate", "Ethinylestradiol/Levonorgestrel", "Norethisterone"],
        forms: &[0, 3],
        strengths: true,
    },
    Family {
        program: 0,
        category: 0,
        items: &["Male condom", "Female condom", "Copper IUD", "Etonogestrel implant", "Levonorgestrel implant"],
        forms: &[6],
        strengths: false,
    },
    Family {
        program: 1,
        category: 1,
        items: &[
            "Amoxicillin",
            "Cotrimoxazole",
            "Metronidazole",
            "Ciprofloxacin",
            "Doxycycline",
            "Gentamicin",
            "Ceftriaxone",
            "Erythromycin",
            "Benzylpenicillin",
            "Cloxacillin",
        ],
        forms: ORAL_OR_INJECTION,
        strengths: true,
    },
    Family {
        program: 1,
        category: 2,
        items: &["Paracetamol", "Ibuprofen", "Aspirin", "Diclofenac", "Morphine", "Tramadol"],
        forms: ORAL_OR_INJECTION,
        strengths: true,
    },
    Family {
        program: 1,
        category: 9,
        items: &[
            "Zinc sulfate",
            "Ferrous sulfate",
            "Folic acid",
            "Oxytocin",
            "Magnesium sulfate",
            "Salbutamol",
            "Hydrochlorothiazide",
            "Metformin",
            "Omeprazole",
            "Albendazole",
            "Prednisolone",
        ],
        forms: ORAL_OR_INJECTION,
        strengths: true,
    },
    Family {
        program: 2,
        category: 3,
        items: &[
            "Ready-to-use therapeutic food",
            "Corn-soy blend",
            "Therapeutic milk F-75",
            "Therapeutic milk F-100",
            "Oral rehydration salts",
        ],
        forms: &[4],
        strengths: false,
    },
    Family {
        program: 3,
        category: 4,
        items: &[
            "BCG vaccine",
            "Measles-rubella vaccine",
            "Pentavalent vaccine",
            "Oral polio vaccine",
            "Pneumococcal vaccine",
            "Rotavirus vaccine",
            "Tetanus-diphtheria vaccine",
            "HPV vaccine",
        ],
        forms: &[7],
        strengths: false,
    },
    Family {
        program: 3,
        category: 4,
        items: &["Auto-disable syringe 0.5ml", "Reconstitution syringe 5ml", "Safety box"],
        forms: &[6],
        strengths: false,
    },
    Family {
        program: 4,
        category: 5,
        items: &[
            "Tenofovir/Lamivudine/Dolutegravir",
            "Abacavir/Lamivudine",
            "Zidovudine/Lamivudine",
            "Efavirenz",
            "Nevirapine",
            "Atazanavir/Ritonavir",
            "Lopinavir/Ritonavir",
            "Dolutegravir",
        ],
        forms: ORAL,
        strengths: true,
    },
    Family {
        program: 5,
        category: 6,
        items: &[
            "Rifampicin/Isoniazid",
            "Rifampicin/Isoniazid/Pyrazinamide/Ethambutol",
            "Isoniazid",
            "Ethambutol",
            "Pyrazinamide",
            "Bedaquiline",
        ],
        forms: ORAL,
        strengths: true,
    },
    Family {
        program: 6,
        category: 7,
        items: &["Artemether/Lumefantrine", "Artesunate", "Sulfadoxine/Pyrimethamine", "Quinine"],
        forms: ORAL_OR_INJECTION,
        strengths: true,
    },
    Family {
        program: 6,
        category: 7,
        items: &["Malaria rapid diagnostic test", "Long-lasting insecticidal net"],
        forms: &[5],
        strengths: false,
    },
    Family {
        program: 7,
        category: 8,
        items: &[
            "HIV rapid test (screening)",
            "HIV rapid test (confirmatory)",
            "Syphilis rapid test",
            "HIV/syphilis duo test",
            "Hepatitis B rapid test",
            "Pregnancy test",
        ],
        forms: &[5],
        strengths: false,
    },
];

pub const STRENGTHS: &[&str] = &["5mg", "10mg", "25mg", "50mg", "100mg", "125mg", "250mg", "400mg", "500mg", "1g"];

/// Pack sizes (units per pack, OpenLMIS' net content).
pub const PACK_SIZES: &[i64] = &[1, 10, 20, 28, 30, 50, 100, 500, 1000];

pub const MANUFACTURERS: &[&str] =
    &["Pharmanova", "Lusa Pharma", "Medipak", "Zambezi Labs", "Shire Valley Pharmaceuticals", "Unimed"];
