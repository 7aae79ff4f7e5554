//! Tests of the accuracy score.

use super::*;
use proptest::prelude::*;

fn formula(expression: &str, ids: &[&str]) -> Result<EasScore, AccuracyError> {
    EasDefinition::Formula {
        expression: expression.to_owned(),
    }
    .compile(ids)
}

fn eval(expression: &str, ids: &[&str], a: &[f64]) -> f64 {
    formula(expression, ids).unwrap().evaluate(a)
}

/// A definition from its JSON form.
fn def(json: &str) -> EasDefinition {
    serde_json::from_str(json).unwrap()
}

/// Contract check of a formula over functions `a` and `b`.
fn check(expression: &str, a: &[f64], b: &[f64]) -> Result<ContractReport, AccuracyError> {
    let score = formula(expression, &["a", "b"]).unwrap();
    score.check_contract(&[a.to_vec(), b.to_vec()])
}

fn same(x: f64, y: f64) -> bool {
    x == y || (x.is_nan() && y.is_nan())
}

#[test]
fn forms_are_recognised_from_the_compiled_program() {
    let ids = ["a", "b", "c"];
    let sum = def(r#"{"kind": "weighted_sum", "weights": {"a": 2, "c": 0.5}}"#);
    assert_eq!(
        sum.compile(&ids).unwrap().form(),
        ScoreForm::Sum {
            constant: 0.0,
            weights: vec![(0, 2.0), (2, 0.5)]
        }
    );
    let geo = def(r#"{"kind": "geometric_mean", "weights": {"a": 0.5, "b": 0.5}}"#);
    assert_eq!(
        geo.compile(&ids).unwrap().form(),
        ScoreForm::Product {
            coefficient: 1.0,
            exponents: vec![(0, 0.5), (1, 0.5)]
        }
    );
    let min = def(r#"{"kind": "min", "functions": ["c", "a"]}"#);
    assert_eq!(
        min.compile(&ids).unwrap().form(),
        ScoreForm::Min {
            functions: vec![0, 2]
        }
    );
    let linear = formula("2*A(a) + A(b)/4 + 1 - 0.5*A(a)", &ids).unwrap();
    assert_eq!(
        linear.form(),
        ScoreForm::Sum {
            constant: 1.0,
            weights: vec![(0, 1.5), (1, 0.25)]
        }
    );
    assert_eq!(
        formula("3 * A(a)^2 * A(b)", &ids).unwrap().form(),
        ScoreForm::Product {
            coefficient: 3.0,
            exponents: vec![(0, 2.0), (1, 1.0)]
        }
    );
    for general in [
        "2*A(a) + A(b)^0.5",
        "min(A(a), A(b)^0.5)",
        "max(A(a), A(b))",
    ] {
        assert_eq!(
            formula(general, &ids).unwrap().form(),
            ScoreForm::General,
            "{general}"
        );
    }
    // Every recognised form evaluates like the program.
    for (score, a) in [
        (sum.compile(&ids).unwrap(), [0.3, 0.9, 0.4]),
        (geo.compile(&ids).unwrap(), [0.3, 0.9, 0.4]),
        (linear, [0.2, 0.7, 1.0]),
    ] {
        let by_form = match score.form() {
            ScoreForm::Sum { constant, weights } => {
                constant + weights.iter().map(|&(i, w)| w * a[i]).sum::<f64>()
            }
            ScoreForm::Product {
                coefficient,
                exponents,
            } => {
                coefficient
                    * exponents
                        .iter()
                        .map(|&(i, e)| a[i].powf(e))
                        .product::<f64>()
            }
            f => panic!("{f:?}"),
        };
        assert!((by_form - score.evaluate(&a)).abs() < 1e-12);
    }
}

#[test]
fn normalisation() {
    let n = |raw: &[Option<f64>], how| normalize(raw, how).unwrap();
    let mm = Normalization::MinMax;
    assert_eq!(
        n(&[Some(70.0), Some(80.0), Some(75.0)], mm),
        [0.0, 1.0, 0.5]
    );
    assert_eq!(n(&[Some(0.39)], mm), [1.0]);
    assert_eq!(n(&[Some(0.5), Some(0.5)], mm), [1.0, 1.0]);
    assert_eq!(
        n(&[None, Some(3.0), None, None], mm),
        [0.25, 0.5, 0.75, 1.0]
    );
    assert_eq!(n(&[Some(9.0), Some(1.0)], Normalization::Rank), [0.5, 1.0]);
    assert_eq!(n(&[Some(-f64::MAX), Some(f64::MAX)], mm), [0.0, 1.0]);
    assert_eq!(
        n(&[Some(0.2), Some(1.0)], Normalization::AsGiven),
        [0.2, 1.0]
    );
    assert!(n(&[], mm).is_empty());
    let e = normalize(&[Some(0.2), Some(76.1)], Normalization::AsGiven).unwrap_err();
    assert_eq!(
        e,
        AccuracyError::AccuracyOutOfRange {
            variant_index: 1,
            value: 76.1
        }
    );
    let msg =
        "variant 1 has accuracy 76.1, which is outside [0, 1] as as_given normalisation requires";
    assert_eq!(e.to_string(), msg);
    assert_eq!(normalize(&[None], Normalization::AsGiven), Ok(vec![1.0]));
    assert_eq!(
        normalize(&[Some(0.9)], Normalization::AsGiven),
        Ok(vec![1.0])
    );
    assert_eq!(
        normalize(&[Some(0.5), None], Normalization::AsGiven),
        Ok(vec![0.5, 1.0])
    );
    let e = normalize(&[Some(1.0), Some(f64::NAN)], mm);
    assert!(matches!(
        e,
        Err(AccuracyError::NonFiniteAccuracy {
            variant_index: 1,
            ..
        })
    ));
}

#[test]
fn templates() {
    let ids = ["a", "b", "c"];
    let compile = |json: &str| def(json).compile(&ids);
    let s = compile(r#"{"kind":"weighted_sum","weights":{"a":2,"b":1}}"#).unwrap();
    assert_eq!(s.evaluate(&[0.5, 0.25, 9.0]), 1.25);
    assert_eq!((s.referenced(), s.range()), (vec![0, 1], (0.0, 3.0)));
    let s = compile(r#"{"kind":"min","functions":["c","a"]}"#).unwrap();
    assert_eq!(s.evaluate(&[0.7, 0.0, 0.4]), 0.4);
    let s = compile(r#"{"kind":"geometric_mean","weights":{"a":0.5,"c":2}}"#).unwrap();
    assert_eq!(
        (s.evaluate(&[0.25, 1.0, 0.5]), s.referenced()),
        (0.125, vec![0, 2])
    );

    let err = |json: &str| compile(json).unwrap_err().to_string();
    assert_eq!(
        err(r#"{"kind":"weighted_sum","weights":{"b":1,"a":-1}}"#),
        "the weight of function 'a' is -1, but weights must be finite and non-negative"
    );
    assert_eq!(
        err(r#"{"kind":"min","functions":["a","zz"]}"#),
        "unknown function id 'zz': it is not one of the application's functions"
    );
    assert_eq!(
        err(r#"{"kind":"geometric_mean","weights":{}}"#),
        "the geometric_mean accuracy score names no function; it needs at least one"
    );
    let e = compile(r#"{"kind":"min","functions":[]}"#);
    assert_eq!(e, Err(AccuracyError::Empty { kind: "min" }));
    let nan = EasDefinition::GeometricMean {
        weights: [("a".to_owned(), f64::NAN)].into(),
    };
    assert!(matches!(
        nan.compile(&ids),
        Err(AccuracyError::InvalidWeight { .. })
    ));
}

#[test]
fn formulas_evaluate() {
    let ids = ["detect", "classify"];
    assert_eq!(eval("2*A(detect) + A(classify)", &ids, &[0.5, 0.25]), 1.25);
    assert_eq!(
        eval("min(A(detect), A(classify)^0.5)", &ids, &[0.9, 0.25]),
        0.5
    );
    let ids = ["f1", "f2", "f3", "f4", "yolo-v10", "m.v_2"];
    let a = [0.5, 0.25, 0.5, 0.5, 1.0, 0.0];
    assert_eq!(eval("2 * A(f1) + A(f2) + (A(f3) * A(f4))", &ids, &a), 1.5);
    assert_eq!(eval("max( A( yolo-v10 ) , A(m.v_2), 0.3 )", &ids, &a), 1.0);
    assert_eq!(eval("A(f1)-A(f2)", &ids, &a), 0.25);
    assert_eq!(
        eval("1e-3 + .5 + 2. + 1E2", &ids, &a),
        1e-3 + 0.5 + 2.0 + 100.0
    );
    let s = formula("A(f4) + A(f2)*A(f4)", &ids).unwrap();
    assert_eq!(s.referenced(), [1, 3]);
    assert!(s.evaluate(&[]).is_nan());
    assert_eq!(eval("3", &[], &[]), 3.0);
    // Deeper than the inline evaluation stack: served from the heap.
    assert_eq!(
        eval(&vec!["1"; 40].join("^").replacen('1', "0.5", 1), &[], &[]),
        0.5
    );
}

#[test]
fn precedence_and_associativity() {
    let cases = [
        ("2^3^2", 512.0),
        ("-2^2", -4.0),
        ("8/4/2", 1.0),
        ("1-2-3", -4.0),
        ("2+3*4", 14.0),
        ("(2+3)*4", 20.0),
        ("-2*3", -6.0),
        ("2^-1", 0.5),
        ("2^-1*3", 1.5),
        ("--3", 3.0),
        ("2*-3", -6.0),
        ("min(3, 1, 2) + max(1)", 2.0),
        ("max(1, 0/0)", f64::NAN),
    ];
    for (text, want) in cases {
        let got = eval(text, &[], &[]);
        assert!(same(got, want), "{text}: {got} != {want}");
    }
}

#[test]
fn parse_errors() {
    let cases = [
        ("", 1, "expected an expression but found end of input"),
        ("   ", 4, "expected an expression but found end of input"),
        ("(A(a)", 6, "expected ')' but found end of input"),
        (
            "A(a))",
            5,
            "expected an operator or end of input but found ')'",
        ),
        ("A(a) +", 7, "expected an expression but found end of input"),
        (
            "2*foo(A(a))",
            3,
            "unknown function 'foo' (expected min, max or A)",
        ),
        ("A(a)#", 5, "unexpected character '#'"),
        ("A(é)", 3, "unexpected character 'é'"),
        ("A()", 3, "expected a function id but found ')'"),
        ("A(-x)", 3, "expected a function id but found '-'"),
        (
            "min()",
            5,
            "expected at least one argument to min but found ')'",
        ),
        ("max(A(a),)", 10, "expected an expression but found ')'"),
        ("max(A(a) A(b))", 10, "expected ',' or ')' but found 'A'"),
        ("A a", 3, "expected '(' but found 'a'"),
        ("2 +* 3", 4, "expected an expression but found '*'"),
        ("1x + 2", 1, "malformed number '1x'"),
        ("1e+ 2", 1, "malformed number '1e+'"),
        ("1e999", 1, "number '1e999' is too large"),
    ];
    for (text, column, message) in cases {
        let want = AccuracyError::Parse {
            column,
            message: message.to_owned(),
        };
        assert_eq!(formula(text, &["a", "b"]).unwrap_err(), want, "{text:?}");
    }
    let e = formula("(", &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "column 2: expected an expression but found end of input"
    );
    let e = formula("2*A(a) + A(resnt)", &["a"]).unwrap_err();
    assert_eq!(
        e,
        AccuracyError::UnknownFunction {
            id: "resnt".into(),
            column: Some(12)
        }
    );
    assert_eq!(
        e.to_string(),
        "column 12: unknown function id 'resnt' in A(...)"
    );
    // A syntax error anywhere wins over an unknown id.
    let e = formula("A(zz) +", &["a"]).unwrap_err();
    assert!(matches!(e, AccuracyError::Parse { column: 8, .. }));
    let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    let e = formula(&deep, &[]).unwrap_err().to_string();
    assert_eq!(
        e,
        "column 65: expression nests too deeply (more than 64 levels)"
    );
}

#[test]
fn contract() {
    let report = check("2*A(a)+A(b)", &[1.0, 0.0, 0.5], &[0.0, 1.0]).unwrap();
    assert_eq!(report, ContractReport { min: 0.0, max: 3.0 });

    let e = check("1 - A(a)", &[0.0, 1.0], &[]).unwrap_err();
    let msg = "the score is not monotone in A(a): raising it from 0 to 1 lowers the score \
               from 1 to 0 (other functions: none)";
    assert_eq!(e.to_string(), msg);
    let e = check("A(a) - A(b)^2", &[0.0, 1.0], &[0.0, 0.5, 1.0]).unwrap_err();
    let at = vec![("a".to_owned(), 0.0)];
    let (function, from, to) = ("b".to_owned(), 0.0, 0.5);
    let want = AccuracyError::NotMonotone {
        function,
        from,
        to,
        score_from: 0.0,
        score_to: -0.25,
        at,
    };
    assert_eq!(e, want);

    let e = check("A(a)/A(b)", &[0.5, 1.0], &[0.0, 1.0]).unwrap_err();
    let at = vec![("a".to_owned(), 0.5), ("b".to_owned(), 0.0)];
    assert_eq!(e, AccuracyError::Unbounded { at });
    assert_eq!(
        e.to_string(),
        "the score is not finite at A(a) = 0.5, A(b) = 0"
    );
    let e = check("A(a)^-1", &[0.0, 1.0], &[]);
    assert!(matches!(e, Err(AccuracyError::Unbounded { .. })));
    let e = check("1/0", &[], &[]).unwrap_err().to_string();
    assert_eq!(
        e,
        "the score is not finite at every point (it references no function)"
    );

    let report = check("min(A(a), A(b)^0.5)", &[0.0, 1.0], &[0.25, 1.0]).unwrap();
    assert_eq!(report, ContractReport { min: 0.0, max: 1.0 });
    assert_eq!(
        check("2", &[], &[]),
        Ok(ContractReport { min: 2.0, max: 2.0 })
    );
    let e = check("A(b)", &[1.0], &[]);
    assert_eq!(
        e,
        Err(AccuracyError::NoOptions {
            function: "b".into()
        })
    );
    let e = formula("A(a)", &["a", "b"])
        .unwrap()
        .check_contract(&[vec![1.0]]);
    assert_eq!(
        e,
        Err(AccuracyError::OptionsMismatch {
            expected: 2,
            found: 1
        })
    );
}

#[test]
fn contract_sampling_on_large_products() {
    let ids = ["a", "b", "c", "d", "e", "f"];
    let options = vec![(0..10).map(|k| f64::from(k) / 9.0).collect::<Vec<f64>>(); 6];
    let json = r#"{"kind":"weighted_sum","weights":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1}}"#;
    let report = def(json)
        .compile(&ids)
        .unwrap()
        .check_contract(&options)
        .unwrap();
    assert!(
        report.min.abs() < 1e-12 && (report.max - 6.0).abs() < 1e-12,
        "{report:?}"
    );
    // Decreasing in `a` only where `f` is at its maximum and `b`..`e` are high.
    let s = formula("A(a) - 2*A(a)*A(b)*A(c)*A(d)*A(e)*A(f)^40", &ids).unwrap();
    let first = s.check_contract(&options).unwrap_err();
    assert!(matches!(&first, AccuracyError::NotMonotone { function, .. } if function == "a"));
    assert_eq!(
        s.check_contract(&options).unwrap_err(),
        first,
        "deterministic"
    );
}

#[test]
fn serde_shapes() {
    for json in [
        r#"{"kind":"weighted_sum","weights":{"a":0.5,"b":0.5}}"#,
        r#"{"kind":"min","functions":["a","b"]}"#,
        r#"{"kind":"geometric_mean","weights":{"a":1.0,"b":2.0}}"#,
        r#"{"kind":"formula","expression":"2*A(a) + A(b)"}"#,
    ] {
        assert_eq!(serde_json::to_string(&def(json)).unwrap(), json);
    }
    let min = EasDefinition::Min {
        functions: vec!["a".into()],
    };
    assert_eq!(def(r#"{"functions":["a"],"kind":"min"}"#), min);
    let e = serde_json::from_str::<EasDefinition>(r#"{"kind":"product","weights":{}}"#);
    assert!(
        e.unwrap_err()
            .to_string()
            .contains("unknown variant `product`")
    );
    let e = serde_json::from_str::<EasDefinition>(r#"{"kind":"min","function":["a"]}"#);
    assert!(
        e.unwrap_err()
            .to_string()
            .contains("unknown field `function`")
    );
    assert_eq!(
        serde_json::to_string(&Normalization::AsGiven).unwrap(),
        r#""as_given""#
    );
    let mm: Normalization = serde_json::from_str(r#""min_max""#).unwrap();
    assert_eq!(mm, Normalization::MinMax);
    let schema = serde_json::to_string(&schemars::schema_for!(EasDefinition)).unwrap();
    assert!(schema.contains("geometric_mean"));
}

/// Random expression tree for the printer round-trip property.
#[derive(Debug, Clone)]
enum Tree {
    Num(f64),
    Var(usize),
    Neg(Box<Tree>),
    Bin(char, Box<Tree>, Box<Tree>),
    Call(bool, Vec<Tree>),
}

const TREE_IDS: [&str; 3] = ["a", "b-2", "c.x"];

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        (0.0..10.0f64).prop_map(Tree::Num),
        (0..3usize).prop_map(Tree::Var)
    ];
    leaf.prop_recursive(5, 48, 3, |inner| {
        let op = prop::sample::select(vec!['+', '-', '*', '/', '^']);
        prop_oneof![
            inner.clone().prop_map(|t| Tree::Neg(Box::new(t))),
            (op, inner.clone(), inner.clone()).prop_map(|(o, l, r)| Tree::Bin(
                o,
                Box::new(l),
                Box::new(r)
            )),
            (any::<bool>(), prop::collection::vec(inner, 1..4)).prop_map(|(m, v)| Tree::Call(m, v)),
        ]
    })
}

fn print(t: &Tree) -> String {
    match t {
        Tree::Num(v) => format!("{v}"),
        Tree::Var(i) => format!("A({})", TREE_IDS[*i]),
        Tree::Neg(x) => format!("(-{})", print(x)),
        Tree::Bin(o, l, r) => format!("({} {o} {})", print(l), print(r)),
        Tree::Call(m, v) => {
            let args: Vec<String> = v.iter().map(print).collect();
            format!("{}({})", if *m { "min" } else { "max" }, args.join(", "))
        }
    }
}

fn direct(t: &Tree, a: &[f64]) -> f64 {
    match t {
        Tree::Num(v) => *v,
        Tree::Var(i) => a[*i],
        Tree::Neg(x) => -direct(x, a),
        Tree::Bin(o, l, r) => {
            let (x, y) = (direct(l, a), direct(r, a));
            match o {
                '+' => x + y,
                '-' => x - y,
                '*' => x * y,
                '/' => x / y,
                _ => x.powf(y),
            }
        }
        Tree::Call(m, v) => {
            let values = v.iter().map(|t| direct(t, a));
            values.reduce(if *m { nan_min } else { nan_max }).unwrap()
        }
    }
}

fn messy_input() -> impl Strategy<Value = String> {
    let chars: Vec<char> = "0123456789aAbfmixn_.eE+-*/^(),  \tλé→#\u{200b}"
        .chars()
        .collect();
    let tokens = vec![
        "A(a)", "A(", "min(", "max(", "(", ")", ",", "+", "-", "^", "1e-3", "é",
    ];
    prop_oneof![
        prop::collection::vec(prop::sample::select(chars), 0..=64)
            .prop_map(|v| v.into_iter().collect()),
        prop::collection::vec(prop::sample::select(tokens), 0..=16).prop_map(|v| v.concat()),
    ]
}

proptest! {
    #[test]
    fn parser_never_panics(text in messy_input()) {
        if let Ok(s) = formula(&text, &["a", "b"]) {
            let _ = s.evaluate(&[0.5, 0.25]);
            let _ = s.check_contract(&[vec![0.0, 1.0], vec![0.5]]);
        }
    }

    #[test]
    fn weighted_sum_is_monotone(
        w in prop::collection::vec(0.0..100.0f64, 3),
        options in prop::collection::vec(prop::collection::vec(0.0..=1.0f64, 1..6), 3),
    ) {
        let ids = ["a", "b", "c"];
        let weights = ids.iter().zip(&w).map(|(f, v)| ((*f).to_owned(), *v)).collect();
        let s = EasDefinition::WeightedSum { weights }.compile(&ids).unwrap();
        let report = s.check_contract(&options).unwrap();
        let (lo, hi) = s.range();
        prop_assert!(lo <= report.min && report.min <= report.max && report.max <= hi + 1e-9);
    }

    #[test]
    fn printed_tree_evaluates_like_the_tree(
        t in tree(),
        a in prop::collection::vec(0.0..=1.0f64, 3),
    ) {
        let text = print(&t);
        let got = formula(&text, &TREE_IDS).unwrap().evaluate(&a);
        let want = direct(&t, &a);
        prop_assert!(same(got, want), "{}: {} != {}", text, got, want);
    }
}
