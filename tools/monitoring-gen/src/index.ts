// @llmgw/monitoring-gen: Prometheus alert rules and a Grafana dashboard from the contract's SLOs.
export { ALERT_NAMES, GROUP_NAMES, buildAlertRules, errorRateExpr, fallbackRateExpr, p99Expr, promNumber, type AlertRule, type RuleFile, type RuleGroup } from './alert-rules.ts';
export { DASHBOARD_TITLE, DASHBOARD_UID, DATASOURCE_INPUT, buildDashboard } from './dashboard.ts';
export { DurationError, durationSeconds, formatDuration } from './durations.ts';
export { ALERT_RULES_FILE, DASHBOARD_FILE, DEFAULT_OUT_DIR, agreementHash, generatedNote, renderMonitoring, staleFiles, writeMonitoring } from './generate.ts';
export { BREAKER_STATE_VALUES, METRICS, promString } from './metric-names.ts';
export { DEFAULT_BREAKER_OPEN_FOR, DEFAULT_PENDING_FOR, SloError, resolveSlos, type ModelSlo, type MonitoringOptions, type ResolvedSlos } from './slo.ts';
