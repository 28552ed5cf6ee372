// @llmgw/monitoring: where the generated Prometheus alert rules and Grafana dashboard live.
import { fileURLToPath } from 'node:url';

/** Absolute path of the Prometheus rule file (load it with `rule_files:`). */
export const alertRulesPath: string = fileURLToPath(new URL('./generated/alert-rules.yml', import.meta.url));
/** Absolute path of the Grafana dashboard JSON (import it in Grafana, choose the Prometheus datasource). */
export const dashboardPath: string = fileURLToPath(new URL('./generated/grafana-dashboard.json', import.meta.url));
