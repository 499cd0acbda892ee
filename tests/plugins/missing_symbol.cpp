// A shared library that is not an ecgbench plugin: no ECGBENCH_PLUGIN entry points.
extern "C" __attribute__((visibility("default"))) int not_a_plugin() { return 42; }
