/**
 * Weight of the vector leg in the hybrid score (the text leg has the rest):
 * equal weights, not fitted. On the generated quality set (manuals, town
 * guides, species notes; aa5a784~1) 0.5 was also the best MRR@10 of a
 * 0.3–0.7 grid (recall@5 / MRR@10 0.942 / 0.793 vs text 0.740 / 0.604,
 * vector 0.606 / 0.420); confirmed, unchanged, on the real one (52 State of
 * the Union addresses): 0.707 / 0.598 vs text 0.659 / 0.572, vector 0.447 /
 * 0.311 (replayed over each leg's top 40 from native pgvector).
 */
export const VECTOR_WEIGHT = 0.5

/** One candidate as the two legs scored it. */
export interface LegScores {
  /** Cosine similarity to the question (computed for every candidate, from either leg). */
  readonly similarity: number
  /** The text leg's IDF-weighted, saturated ts_rank_cd sum; null when the text did not match. */
  readonly textScore: number | null
}

/**
 * Hybrid score of each candidate (same order): a convex combination of the
 * legs' own scores. Cosine similarity is used as it is (already on a fixed
 * scale; min-max over the candidates would turn a hair's difference between
 * two candidates into the whole vector weight, and did: on two short
 * documents it ranked the wrong one first). The text score has no fixed
 * scale (a sum of IDF-weighted terms): divided by this question's best one,
 * so the text leg's first hit scores 1 and a non-match 0.
 *
 * Scores, not ranks: reciprocal-rank fusion with k = 60 scored the text leg's
 * rank 1 and rank 5 almost alike (1/61 vs 1/65), so a chunk both legs put
 * mid-list outranked the text leg's confident first hit, and hybrid lost to
 * the text leg alone on real text (recall@5 0.635 vs 0.659). Here a first hit
 * that scores far above the rest keeps that margin.
 */
export const fuseScores = (rows: ReadonlyArray<LegScores>): Array<number> => {
  const best = Math.max(0, ...rows.map((r) => r.textScore ?? 0))
  return rows.map((r) =>
    VECTOR_WEIGHT * r.similarity + (1 - VECTOR_WEIGHT) * (best > 0 ? (r.textScore ?? 0) / best : 0)
  )
}
