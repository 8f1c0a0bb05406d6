"""The table ``python -m bench.scaling`` prints, and its check that every record agrees with the sink."""


def table(results):
    lines = [
        "config             ceiling  low-rate delivery p50/p99 ms  SIGKILL->email s (survivor/restart, max)"
        "  emails/s by worker processes (fraction of ceiling)  Redis cmds, DB rows, DB xacts per email (2 procs)",
    ]
    for name, out in results["configs"].items():
        if "error" in out:
            lines.append(f"{name:<18} failed: {out['error']}")
            continue
        delivery = out["low_rate"]["delivery_ms"]
        kill = out["killed_worker"]
        rates = "  ".join(
            f"{row['processes']}: {row['delivery']['emails_per_s']} ({row['fraction_of_ceiling']})"
            for row in out["bursts"]
        )
        cost = next((row["cost_per_email"] for row in out["bursts"] if row["processes"] == 2), {})
        lines.append(
            f"{name:<18} {out['smtp_ceiling']['msgs_per_s']:>7}  {delivery['p50']:>8} / {delivery['p99']:<8}"
            f"           {kill['survivor']['max_s']} / {kill['restart']['max_s']}"
            f"                            {rates}   {cost.get('redis_commands')}, {cost.get('db_rows_written', '-')},"
            f" {cost.get('db_transactions', '-')}"
        )
        cpu = ", ".join(f"{kind} {ms}" for kind, ms in sorted(cost.get("cpu_ms", {}).items()))
        lines.append(f"{'':<18} CPU ms per email, 2 worker processes: {cpu}")
    lines.append(f"records agree with the sink everywhere: {results['records_agree']}")
    return "\n".join(lines)


def all_records_agree(out):
    cases = [out["low_rate"]["records"]["agree"]]
    cases += [row["records"]["agree"] for row in out["bursts"]]
    cases += [scenario["records_agree"] for scenario in out["killed_worker"].values()]
    return all(cases)
