//! The flags every example framework takes (C++ `src/examples/flags.hpp`, itself extending `logging::Flags`), read from the command line and `MESOS_EXAMPLE_*` variables.

use mesos::flags::Flags;

/// The environment prefix of the examples' flags.
pub const ENVIRONMENT_PREFIX: &str = "MESOS_EXAMPLE_";

/// Defines a flags struct with the fields of C++ `mesos::internal::examples::Flags` (and
/// of `logging::Flags`) followed by the example's own; [`declare_example_flags`] declares
/// the common ones.
#[macro_export]
macro_rules! example_flags {
    ($(#[$meta:meta])* $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default)]
        pub struct $name {
            pub master: String,
            pub authenticate: bool,
            pub principal: String,
            pub secret: Option<String>,
            pub checkpoint: bool,
            pub role: String,
            pub quiet: bool,
            pub logging_level: String,
            pub log_dir: Option<String>,
            pub logbufsecs: i32,
            pub initialize_driver_logging: bool,
            pub external_log_file: Option<String>,
            $($(#[$field_meta])* pub $field: $ty,)*
        }
    };
}

example_flags!(
    /// The examples' common flags alone.
    ExampleFlags {}
);

/// Declares the examples' flags on `f`, a `Flags<T>` whose `T` has the fields of
/// [`ExampleFlags`]; an example adds its own after.
#[macro_export]
macro_rules! declare_example_flags {
    ($flags:expr) => {{
        let f = $flags;
        mesos::declare_logging_flags!(&mut *f);
        f.add(
            mesos::field!(master),
            "master",
            "The master to connect to: `host:port`, `master@host:port`, `file://path` (a file \
             holding one of those) or `local` (a local cluster in this process).",
        );
        f.add(mesos::field!(authenticate), "authenticate", "Set to 'true' to enable framework authentication.")
            .default(false);
        f.add(mesos::field!(principal), "principal", "The principal used to identify this framework.")
            .default("test".to_string());
        f.add_optional(mesos::field!(secret), "secret", "The secret used to authenticate this framework.");
        f.add(mesos::field!(checkpoint), "checkpoint", "Whether this framework should be checkpointed.").default(false);
        f.add(mesos::field!(role), "role", "Role to use when registering.").default("*".to_string());
    }};
}

impl ExampleFlags {
    pub fn declare() -> Flags<ExampleFlags> {
        let mut f = Flags::new(ExampleFlags::default());
        declare_example_flags!(&mut f);
        f
    }
}
