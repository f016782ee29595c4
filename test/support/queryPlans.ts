/**
 * Reading PostgreSQL plans in tests: `EXPLAIN (FORMAT JSON)` answers one row whose
 * "QUERY PLAN" is `[{ Plan: { "Node Type", "Relation Name", "Index Name", Plans: [...] } }]`.
 */
interface PlanNode {
  readonly "Node Type": string
  readonly "Relation Name"?: string
  readonly "Index Name"?: string
  readonly Plans?: ReadonlyArray<PlanNode>
}

/** Every node of the plan, depth first. */
const nodesOf = (node: PlanNode): Array<PlanNode> => [node, ...(node.Plans ?? []).flatMap(nodesOf)]

/** The plan's nodes, from the "QUERY PLAN" value of `EXPLAIN (FORMAT JSON)`. */
export const planNodes = (queryPlan: unknown): Array<PlanNode> => nodesOf((queryPlan as Array<{ Plan: PlanNode }>)[0].Plan)

/** The relations the plan reads by sequential scan. */
export const sequentialScans = (queryPlan: unknown) =>
  planNodes(queryPlan).filter((n) => n["Node Type"] === "Seq Scan").map((n) => n["Relation Name"] ?? "?")
