#!/usr/bin/env python3
"""Generates a large, valid package set for benchmarking `olmisctl packages validate`.

    python3 benches/generate_package_set.py OUT_DIR [--models 5000] [--assets 2000]

Writes OUT_DIR/core and OUT_DIR/ext: 80% of the models and assets in the core, 20% in the
extension, with refs between models, a properties YAML per folder of 50 models, and Superset
databases, datasets, charts and dashboards that all resolve. Deterministic; the set validates
clean, so the benchmark measures the full rule run. See benches/README.md for the command.
"""
import argparse
import os
import shutil
import uuid


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def uid(kind, n):
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{kind}-{n}"))


DB_UUID = uid("database", 0)
DATABASE = f"""database_name: OLMIS ClickHouse
sqlalchemy_uri: clickhousedb://olmis:XXXXXXXXXX@clickhouse:8123/curated
expose_in_sqllab: true
allow_ctas: false
allow_cvas: false
allow_dml: false
extra:
  allows_virtual_table_explore: true
uuid: {DB_UUID}
version: 1.0.0
"""


def package(root, name, kind, dbt_name, models, first_model, assets, first_asset, core_dbt):
    extra = "requires_core:\n  name: bench-core\n  version: ^1.0\n" if kind == "extension" else ""
    write(f"{root}/manifest.yaml", f"name: {name}\ntype: {kind}\nversion: 1.0.0\nplatform_version: \">=0.1.0\"\nincludes: [dbt, superset]\n{extra}")
    write(f"{root}/dbt/dbt_project.yml", f"name: {dbt_name}\nversion: 1.0.0\nconfig-version: 2\n")
    names = []
    for i in range(first_model, first_model + models):
        folder = f"{root}/dbt/models/group_{i // 50:04d}"
        model = f"m_{i:05d}"
        names.append(model)
        upstream = f"m_{i - 1:05d}" if i > first_model else None
        ref = f"{{{{ ref('{upstream}') }}}}" if upstream else f"{{{{ ref('{core_dbt}', 'm_00000') }}}}" if core_dbt else "numbers(10)"
        write(f"{folder}/{model}.sql", f"{{{{ config(materialized='table') }}}}\nselect number as id, number * 2 as value\nfrom {ref}\n")
        if i % 50 == 49 or i == first_model + models - 1:
            start = i - i % 50 if i % 50 != 49 else i - 49
            start = max(start, first_model)
            entries = "".join(
                f"  - name: m_{j:05d}\n    columns:\n      - name: id\n        tests:\n          - not_null\n          - relationships:\n              to: ref('m_{max(j - 1, first_model):05d}')\n              field: id\n"
                for j in range(start, i + 1)
            )
            write(f"{folder}/_models.yml", f"version: 2\nmodels:\n{entries}")
    assets_dir = f"{root}/superset/assets"
    write(f"{assets_dir}/databases/olmis_clickhouse.yaml", DATABASE)
    datasets = assets * 2 // 5
    charts = assets * 2 // 5
    dashboards = assets - datasets - charts - 1
    for n in range(datasets):
        i = first_asset + n
        table = names[n % len(names)]
        write(f"{assets_dir}/datasets/olmis_clickhouse/{table}_{i}.yaml",
              f"table_name: {table}\nschema: curated\nsql: null\nuuid: {uid('dataset', i)}\ncolumns:\n- column_name: id\n  type: UInt64\n- column_name: value\n  type: UInt64\nmetrics:\n- metric_name: count\n  expression: COUNT(*)\nversion: 1.0.0\ndatabase_uuid: {DB_UUID}\n")
    for n in range(charts):
        i = first_asset + n
        write(f"{assets_dir}/charts/chart_{i}.yaml",
              f"slice_name: Chart {i}\nviz_type: table\nparams:\n  viz_type: table\n  all_columns: [id, value]\n  row_limit: 100\nuuid: {uid('chart', i)}\nversion: 1.0.0\ndataset_uuid: {uid('dataset', first_asset + n % datasets)}\n")
    for n in range(dashboards):
        i = first_asset + n
        placed = "".join(
            f"  CHART-{k}:\n    type: CHART\n    id: CHART-{k}\n    children: []\n    meta:\n      uuid: {uid('chart', first_asset + (n * 4 + k) % charts)}\n      width: 4\n      height: 50\n"
            for k in range(4)
        )
        write(f"{assets_dir}/dashboards/dashboard_{i}.yaml",
              f"dashboard_title: Dashboard {i}\nslug: dashboard-{i}\nuuid: {uid('dashboard', i)}\nposition:\n{placed}  ROOT_ID:\n    type: ROOT\n    id: ROOT_ID\n    children: [GRID_ID]\nmetadata:\n  refresh_frequency: 0\nversion: 1.0.0\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--models", type=int, default=5000)
    parser.add_argument("--assets", type=int, default=2000)
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    core_models, core_assets = args.models * 4 // 5, args.assets * 4 // 5
    package(f"{args.out}/core", "bench-core", "core", "bench_core", core_models, 0, core_assets, 0, None)
    package(f"{args.out}/ext", "bench-ext", "extension", "bench_ext", args.models - core_models, core_models,
            args.assets - core_assets, core_assets, "bench_core")
    print(f"{args.out}: {args.models} models, {args.assets} assets (core + extension)")


if __name__ == "__main__":
    main()
