//! The master's resource allocator (mirrors `src/master/allocator/`): so far its sorters.

pub mod sorter;
