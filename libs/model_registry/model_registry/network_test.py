import torch

from model_registry.network import NetworkConfig, WideDeepNet, embedding_dim


def network() -> WideDeepNet:
    torch.manual_seed(0)
    config = NetworkConfig(
        cardinalities=(4, 11), embedding_dims=(2, 5), numeric=3, hidden=(8, 4), dropout=0.0
    )
    return WideDeepNet(config)


def test_embedding_dims_are_half_the_vocabulary_within_bounds() -> None:
    assert [embedding_dim(n, cap=8) for n in (2, 4, 11, 104)] == [1, 2, 5, 8]


def test_gives_one_logit_per_row() -> None:
    codes = torch.tensor([[1, 10], [0, 0], [3, 5]])
    logits = network()(codes, torch.zeros(3, 3))
    assert logits.shape == (3,)


def test_out_of_vocabulary_rows_are_zero_and_never_learn() -> None:
    net = network()
    codes = torch.tensor([[0, 0], [1, 2]])
    net(codes, torch.ones(2, 3)).sum().backward()
    for table in [*net.embeddings, *net.wide_categorical]:
        assert torch.equal(table.weight[0], torch.zeros_like(table.weight[0]))
        assert table.weight.grad is not None
        assert torch.equal(table.weight.grad[0], torch.zeros_like(table.weight.grad[0]))
