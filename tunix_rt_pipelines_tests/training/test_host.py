import platform

from tunix_rt_pipelines.lib.training.host import cpu_model, host_facts


def test_the_cpu_model_is_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t: avx2\n")
    assert cpu_model(cpuinfo) == "Intel(R) Xeon(R) Processor"


def test_without_cpuinfo_the_cpu_model_comes_from_platform(tmp_path):
    assert cpu_model(tmp_path / "missing") == (platform.processor() or platform.machine())


def test_host_facts_name_a_torch_kernel_level_and_the_given_threads():
    facts = host_facts(threads=3)
    assert facts["torch_threads"] == 3
    # torch's dispatch levels (aten/src/ATen/native/DispatchStub.h)
    assert facts["cpu_capability"] in {"DEFAULT", "NO AVX", "AVX2", "AVX512", "VSX", "ZVECTOR", "SVE256"}
    assert "+" not in facts["torch"] and facts["torch"][0].isdigit()
