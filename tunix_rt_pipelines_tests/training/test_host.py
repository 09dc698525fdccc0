from tunix_rt_pipelines.lib.training.host import cpu_model, host_facts


def test_host_facts_name_the_kernels_and_threads():
    import torch

    facts = host_facts(threads=3)
    assert facts["torch_threads"] == 3
    assert facts["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert facts["cpu"] == cpu_model() and facts["cpu"]
    assert facts["torch"] == torch.__version__.split("+")[0]
