/**
 * typescript-axios 5.0.0-beta2 copies query parameters with `URLSearchParams.set(key, value)`, which
 * turns an array into one comma-joined value (`status=queued%2Crunning`): not the repeated keys
 * (`status=queued&status=running`) that `style: form, explode: true` means and the server stubs read.
 * This rewrites that loop to append one pair per item (an empty array sends nothing). Applied only
 * when the contract has an array query parameter, so other output stays as the generator wrote it.
 */
const SET_EACH = `            for (const key in localVarQueryParameter) {
                query.set(key, localVarQueryParameter[key]);
            }
`;

const APPEND_ARRAYS = `            for (const key in localVarQueryParameter) {
                const value = localVarQueryParameter[key];
                // style: form, explode: true: one key=value pair per item (tools/clientgen/src/axios/query-arrays.ts)
                if (Array.isArray(value)) for (const item of value) query.append(key, item);
                else query.set(key, value);
            }
`;

/** api.ts with array query values sent as repeated keys; throws if the generator's template changed. */
export function repeatArrayQueryKeys(api: string): string {
  if (!api.includes(SET_EACH)) {
    throw new Error('openapi-generator output changed: cannot find the query-parameter loop to send arrays as repeated keys (see tools/clientgen/src/axios/query-arrays.ts)');
  }
  return api.replaceAll(SET_EACH, APPEND_ARRAYS);
}
