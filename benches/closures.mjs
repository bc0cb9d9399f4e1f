// The reference a page could write instead of loading opmaat: each GrowthBook condition compiled
// once into nested JavaScript closures, then called per decision. It covers what the synthetic
// catalogues use (and the common rest): dotted paths, $and/$or/$nor/$not, equality, $ne,
// $in/$nin (array attributes match on any element), $gt/$gte/$lt/$lte, $exists, $regex.
// Matching only: no ranking, no contact policies, no explanation. benches/decide.mjs times it
// in the same process as the Wasm decision; it is a yardstick, not part of the package.

const lookup = (path) => {
  const steps = path.split(".");
  return (attrs) => {
    let v = attrs;
    for (const s of steps) {
      if (v === null || typeof v !== "object") return undefined;
      v = v[s];
    }
    return v;
  };
};

const same = (a, b) => a === b || (a == null && b == null);

function operator(op, operand) {
  switch (op) {
    case "$eq": return (v) => same(v, operand);
    case "$ne": return (v) => !same(v, operand);
    case "$gt": return (v) => v > operand;
    case "$gte": return (v) => v >= operand;
    case "$lt": return (v) => v < operand;
    case "$lte": return (v) => v <= operand;
    case "$exists": return operand ? (v) => v != null : (v) => v == null;
    case "$regex": {
      const re = new RegExp(operand);
      return (v) => typeof v === "string" && re.test(v);
    }
    case "$in": {
      const set = new Set(operand);
      return (v) => (Array.isArray(v) ? v.some((x) => set.has(x)) : set.has(v));
    }
    case "$nin": {
      const set = new Set(operand);
      return (v) => !(Array.isArray(v) ? v.some((x) => set.has(x)) : set.has(v));
    }
    case "$not": {
      const inner = value(operand);
      return (v) => !inner(v);
    }
    default: throw new Error(`the reference evaluator does not know ${op}`);
  }
}

/** A value test: an operator object, or a literal compared for equality. */
function value(test) {
  if (test !== null && typeof test === "object" && !Array.isArray(test) && Object.keys(test).every((k) => k.startsWith("$"))) {
    const ops = Object.entries(test).map(([op, operand]) => operator(op, operand));
    return ops.length === 1 ? ops[0] : (v) => ops.every((f) => f(v));
  }
  return (v) => same(v, test);
}

/** A condition document compiled to one closure over the attributes. */
export function compile(condition) {
  const parts = Object.entries(condition).map(([key, test]) => {
    switch (key) {
      case "$and": { const all = test.map(compile); return (a) => all.every((f) => f(a)); }
      case "$or": { const any = test.map(compile); return (a) => any.length === 0 || any.some((f) => f(a)); }
      case "$nor": { const any = test.map(compile); return (a) => !any.some((f) => f(a)); }
      case "$not": { const inner = compile(test); return (a) => !inner(a); }
      default: { const get = lookup(key), check = value(test); return (a) => check(get(a)); }
    }
  });
  return parts.length === 1 ? parts[0] : (a) => parts.every((f) => f(a));
}

/**
 * The matching a page would do for one placement: every proposition of the channel whose
 * eligibility, applicability and suitability hold, and its context weights evaluated.
 * Returns the ids that match, so a run can be checked for doing the work.
 */
export function matcher(catalogue, channel) {
  const always = () => true;
  const compiled = catalogue.propositions
    .filter((p) => p.channels.includes(channel))
    .map((p) => ({
      id: p.id,
      eligibility: p.eligibility ? compile(p.eligibility) : always,
      applicability: p.applicability ? compile(p.applicability) : always,
      suitability: p.suitability ? compile(p.suitability) : always,
      weights: (p.contextWeights ?? []).map((w) => ({ when: compile(w.when), weight: w.weight })),
    }));
  return (attributes) => {
    const matched = [];
    for (const p of compiled) {
      if (!(p.eligibility(attributes) && p.applicability(attributes) && p.suitability(attributes))) continue;
      let weight = 1;
      for (const w of p.weights) if (w.when(attributes)) weight *= w.weight;
      matched.push(p.id, weight);
    }
    return matched;
  };
}
