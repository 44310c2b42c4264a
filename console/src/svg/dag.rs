//! A layered drawing of a directed acyclic graph (a pipeline, a lineage): each node in
//! the column of its longest path from a source, nodes within a column ordered by the mean
//! position of their predecessors (a few barycentre sweeps), edges as curves with arrows.
//! Graphs here have tens of nodes, so the simple method is plenty.
use maud::{html, Markup};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Node {
    pub label: String,
    /// A second line (the step type, a digest).
    pub sub: String,
    /// CSS class of its state (`succeeded`, `failed`, `cached`, `skipped`, `executing`,
    /// `pending`) or kind (`data`, `artifact`, `model`, `deployment`).
    pub class: String,
    pub href: Option<String>,
    /// The tooltip.
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub label: Option<String>,
    /// Drawn dashed (a condition's branch, an ordering-only dependency).
    pub dashed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

const NODE_W: f64 = 150.0;
const NODE_H: f64 = 44.0;
const COL_GAP: f64 = 46.0;
const ROW_GAP: f64 = 18.0;
const PAD: f64 = 12.0;

/// (column, row) of every node.
pub fn layout(g: &Graph) -> Vec<(usize, usize)> {
    let n = g.nodes.len();
    let mut layer = vec![0usize; n];
    // Longest path: relax the edges n times (a cycle cannot make it loop forever).
    for _ in 0..n {
        let mut changed = false;
        for e in &g.edges {
            if e.from < n && e.to < n && e.from != e.to && layer[e.to] < layer[e.from] + 1 {
                layer[e.to] = (layer[e.from] + 1).min(n);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let columns = layer.iter().copied().max().map_or(0, |m| m + 1);
    let mut cols: Vec<Vec<usize>> = vec![Vec::new(); columns];
    for (i, l) in layer.iter().enumerate() {
        cols[*l].push(i);
    }
    let mut row = vec![0usize; n];
    let place = |cols: &Vec<Vec<usize>>, row: &mut Vec<usize>| {
        for c in cols {
            for (r, &i) in c.iter().enumerate() {
                row[i] = r;
            }
        }
    };
    place(&cols, &mut row);
    for _ in 0..4 {
        for c in cols.iter_mut().skip(1) {
            let key = |i: usize| {
                let preds: Vec<f64> = g
                    .edges
                    .iter()
                    .filter(|e| e.to == i && e.from < n)
                    .map(|e| row[e.from] as f64)
                    .collect();
                if preds.is_empty() {
                    row[i] as f64
                } else {
                    preds.iter().sum::<f64>() / preds.len() as f64
                }
            };
            let mut keyed: Vec<(f64, usize)> = c.iter().map(|&i| (key(i), i)).collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            *c = keyed.into_iter().map(|(_, i)| i).collect();
        }
        place(&cols, &mut row);
    }
    (0..n).map(|i| (layer[i], row[i])).collect()
}

fn f(v: f64) -> String {
    format!("{v:.1}")
}

/// The graph as SVG; `id` makes its arrow marker unique in the page.
pub fn render(id: &str, title: &str, g: &Graph) -> Markup {
    if g.nodes.is_empty() {
        return html! { p.empty { "Nothing to draw for " (title) "." } };
    }
    let pos = layout(g);
    let cols = pos.iter().map(|p| p.0).max().unwrap_or(0) + 1;
    let rows = pos.iter().map(|p| p.1).max().unwrap_or(0) + 1;
    let w = PAD * 2.0 + cols as f64 * NODE_W + (cols - 1) as f64 * COL_GAP;
    let h = PAD * 2.0 + 18.0 + rows as f64 * NODE_H + (rows - 1) as f64 * ROW_GAP;
    let at = |i: usize| {
        let (c, r) = pos[i];
        (
            PAD + c as f64 * (NODE_W + COL_GAP),
            PAD + 18.0 + r as f64 * (NODE_H + ROW_GAP),
        )
    };
    let marker = format!("arrow-{id}");
    html! {
        svg.chart.dag xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {} {}", f(w), f(h))) role="img" aria-label=(title) data-chart="dag" {
            title { (title) }
            defs {
                marker id=(marker) viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse" {
                    path d="M 0 0 L 10 5 L 0 10 z" fill="#6b7280" {}
                }
            }
            text.chart-title x=(f(PAD)) y="14" { (title) }
            @for e in g.edges.iter().filter(|e| e.from < pos.len() && e.to < pos.len()) {
                @let (x0, y0) = at(e.from);
                @let (x1, y1) = at(e.to);
                @let (sx, sy, tx, ty) = (x0 + NODE_W, y0 + NODE_H / 2.0, x1, y1 + NODE_H / 2.0);
                @let mx = (sx + tx) / 2.0;
                path class=(if e.dashed { "edge dashed" } else { "edge" })
                    d=(format!("M {} {} C {} {}, {} {}, {} {}", f(sx), f(sy), f(mx), f(sy), f(mx), f(ty), f(tx), f(ty)))
                    fill="none" marker-end=(format!("url(#{marker})")) {
                    title { (g.nodes[e.from].label) " → " (g.nodes[e.to].label) @if let Some(l) = &e.label { ": " (l) } }
                }
                // Labels only on edges between neighbouring columns (longer ones cross others).
                @if let (Some(l), true) = (&e.label, pos[e.to].0 == pos[e.from].0 + 1 && pos[e.to].1 == pos[e.from].1) {
                    text.edge-label x=(f(mx)) y=(f((sy + ty) / 2.0 - 4.0)) text-anchor="middle" { (l.chars().take(12).collect::<String>()) }
                }
            }
            @for (i, node) in g.nodes.iter().enumerate() {
                @let (x, y) = at(i);
                @let body = html! {
                    rect class=(format!("node {}", node.class)) x=(f(x)) y=(f(y)) width=(f(NODE_W)) height=(f(NODE_H)) rx="6" {}
                    text.node-label x=(f(x + 8.0)) y=(f(y + 18.0)) { (node.label.chars().take(22).collect::<String>()) }
                    text.node-sub x=(f(x + 8.0)) y=(f(y + 34.0)) { (node.sub.chars().take(26).collect::<String>()) }
                    title { (node.title) }
                };
                g.node data-node=(node.label) data-state=(node.class) {
                    @if let Some(href) = &node.href {
                        a href=(href) { (body) }
                    } @else {
                        (body)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(l: &str) -> Node {
        Node {
            label: l.into(),
            sub: String::new(),
            class: "pending".into(),
            href: None,
            title: l.into(),
        }
    }

    #[test]
    fn nodes_sit_in_the_column_of_their_longest_path() {
        // a → b → d, a → c → d, a → d
        let edge = |from, to| Edge {
            from,
            to,
            label: None,
            dashed: false,
        };
        let g = Graph {
            nodes: ["a", "b", "c", "d"].iter().map(|l| node(l)).collect(),
            edges: vec![edge(0, 1), edge(0, 2), edge(1, 3), edge(2, 3), edge(0, 3)],
        };
        let p = layout(&g);
        assert_eq!(p.iter().map(|x| x.0).collect::<Vec<_>>(), vec![0, 1, 1, 2]);
        assert_ne!(p[1].1, p[2].1);
        let svg = render("t", "test", &g).into_string();
        assert_eq!(svg.matches("<rect").count(), 4);
        assert_eq!(svg.matches("class=\"edge\"").count(), 5);
    }
}
