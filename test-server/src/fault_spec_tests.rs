//! Unit tests of the `--fault` syntax.

use super::*;

fn parse(spec: &str) -> ScheduledFault {
    spec.parse()
        .unwrap_or_else(|e| panic!("{spec:?} should parse: {e}"))
}

fn error(spec: &str) -> String {
    match spec.parse::<ScheduledFault>() {
        Ok(f) => panic!("{spec:?} should not parse, got {f:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_examples_from_the_help_parse() {
    assert_eq!(
        parse("status=503,every=7"),
        ScheduledFault::new(Fault::Status(503), Schedule::every_nth(7))
    );
    assert_eq!(
        parse("rate-limit=2,first=3"),
        ScheduledFault::new(
            Fault::RateLimit {
                retry_after_secs: 2
            },
            Schedule::first(3)
        )
    );
    assert_eq!(
        parse(" drop , probability=0.05, seed=42 "),
        ScheduledFault::new(Fault::Drop, Schedule::probability(0.05, 42))
    );
    assert_eq!(
        parse("truncate,every=3,offset=1,method=get,path=/Users"),
        ScheduledFault::new(Fault::TruncatedBody, Schedule::EveryNth { n: 3, offset: 1 })
            .only_method("GET")
            .only_path("/Users")
    );
}

#[test]
fn every_fault_kind_parses() {
    let cases = [
        (
            "rate-limit",
            Fault::RateLimit {
                retry_after_secs: 1,
            },
        ),
        (
            "rate-limit-date=5",
            Fault::RateLimitHttpDate {
                retry_after_secs: 5,
            },
        ),
        ("status=529", Fault::Status(529)),
        ("html", Fault::HtmlError(502)),
        ("html=504", Fault::HtmlError(504)),
        ("delay=250ms", Fault::Delay(Duration::from_millis(250))),
        ("delay=2s", Fault::Delay(Duration::from_secs(2))),
        ("delay=40", Fault::Delay(Duration::from_millis(40))),
        ("drop", Fault::Drop),
        ("hang", Fault::Hang),
        ("drop-after-handling", Fault::DropAfterHandling),
        ("hang-after-handling", Fault::HangAfterHandling),
        ("truncate", Fault::TruncatedBody),
        ("wrong-content-type", Fault::WrongContentType),
        ("oversize=100", Fault::Oversized { pad_bytes: 100 }),
        ("oversize=64k", Fault::Oversized { pad_bytes: 65536 }),
        ("oversize=2M", Fault::Oversized { pad_bytes: 2 << 20 }),
        ("missing=id", Fault::MissingField("id".into())),
    ];
    for (spec, fault) in cases {
        assert_eq!(
            parse(spec),
            ScheduledFault::new(fault, Schedule::always()),
            "{spec}"
        );
    }
}

#[test]
fn every_schedule_parses() {
    assert_eq!(parse("drop,from=4").schedule, Schedule::range(4, None));
    assert_eq!(
        parse("drop,from=4,count=2").schedule,
        Schedule::range(4, Some(2))
    );
    assert_eq!(
        parse("drop,probability=1").schedule,
        Schedule::probability(1.0, 0)
    );
    assert_eq!(parse("hang,first=0").schedule, Schedule::first(0));
}

#[test]
fn errors_name_the_bad_part() {
    let cases = [
        ("status=abc,every=7", "`status=abc`"),
        ("status=1000", "between 100 and 999"),
        ("status", "`status` needs a value"),
        ("drop=yes", "`drop` takes no value"),
        ("drop,every=0", "`every=0`"),
        ("drop,every=x", "`every=x`"),
        ("drop,probability=1.5", "`probability=1.5`"),
        ("drop,seed=3", "`seed` only goes with `probability`"),
        ("drop,count=3", "`count` only goes with `from`"),
        ("drop,offset=3", "`offset` only goes with `every`"),
        ("drop,first=2,every=3", "`every=3`: only one schedule"),
        ("drop,status=503", "`status=503`: only one fault"),
        ("every=3", "no fault given"),
        ("", "no fault given"),
        ("drop,sometimes", "unknown item `sometimes`"),
        ("delay=soon", "`delay=soon`"),
        ("oversize=lots", "`oversize=lots`"),
        ("missing=", "needs an attribute name"),
        ("drop,path=Users", "`path=Users`"),
        ("drop,method=", "`method=`"),
    ];
    for (spec, wanted) in cases {
        let e = error(spec);
        assert!(e.contains(wanted), "{spec:?}: {e}");
        assert!(e.starts_with(&format!("bad fault spec \"{spec}\"")), "{e}");
    }
}
