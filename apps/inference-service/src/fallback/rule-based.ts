export interface FallbackRule {
  name: string;
  keywords?: readonly string[];
  /** Case-insensitive regular expression. */
  pattern?: string;
  template: string;
}

export interface CompiledRule {
  name: string;
  template: string;
  test(text: string): boolean;
}

/** Compile rules once at start: keywords become one case-insensitive regex. */
export function compileRules(rules: readonly FallbackRule[]): CompiledRule[] {
  return rules.map((rule) => {
    const parts: string[] = [];
    if (rule.keywords?.length) parts.push(...rule.keywords.map(escapeRegExp));
    if (rule.pattern) parts.push(`(?:${rule.pattern})`);
    const re = new RegExp(parts.join('|'), 'iu');
    return { name: rule.name, template: rule.template, test: (text) => re.test(text) };
  });
}

/** The first rule matching the question, if any. */
export function matchRule(rules: readonly CompiledRule[], question: string): CompiledRule | undefined {
  for (const rule of rules) if (rule.test(question)) return rule;
  return undefined;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
