//! Topological ordering with cycle reporting.

/// A topological order of nodes `0..deps.len()` (`deps[i]` = nodes `i` waits for), stable
/// by index; or the nodes of one cycle.
pub fn order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = deps.len();
    let mut indegree: Vec<usize> = deps.iter().map(|d| d.len()).collect();
    let mut dependents = vec![Vec::new(); n];
    for (i, d) in deps.iter().enumerate() {
        for &j in d {
            dependents[j].push(i);
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        out.push(i);
        for &k in &dependents[i] {
            indegree[k] -= 1;
            if indegree[k] == 0 {
                ready.insert(k);
            }
        }
    }
    if out.len() == n {
        return Ok(out);
    }
    // Walk dependencies among the unordered nodes until one repeats.
    let left: Vec<bool> = (0..n).map(|i| !out.contains(&i)).collect();
    let mut path = vec![(0..n).find(|&i| left[i]).unwrap_or(0)];
    loop {
        let cur = *path.last().unwrap_or(&0);
        let Some(&next) = deps[cur].iter().find(|&&j| left[j]) else {
            return Err(path);
        };
        if let Some(p) = path.iter().position(|&x| x == next) {
            let mut cycle: Vec<usize> = path[p..].to_vec();
            cycle.reverse();
            cycle.push(cycle[0]);
            return Err(cycle);
        }
        path.push(next);
    }
}

/// Nodes that depend (transitively) on `root`, `root` excluded.
pub fn descendants(deps: &[Vec<usize>], root: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(x) = frontier.pop() {
        for (i, d) in deps.iter().enumerate() {
            if d.contains(&x) && !out.contains(&i) {
                out.push(i);
                frontier.push(i);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_finds_cycles() {
        // 0 ← 1 ← 3, 0 ← 2 ← 3
        let deps = vec![vec![], vec![0], vec![0], vec![1, 2]];
        assert_eq!(order(&deps).unwrap(), vec![0, 1, 2, 3]);
        let cyc = vec![vec![], vec![0, 2], vec![1]];
        let c = order(&cyc).unwrap_err();
        assert_eq!(c.first(), c.last());
        assert!(c.contains(&1) && c.contains(&2));
        assert_eq!(descendants(&deps, 1), vec![3]);
    }
}
