import numpy as np
import pytest
from scipy import stats

from nlica._sprites import SPRITE_SHAPES, make_sprite_sequences


@pytest.mark.parametrize("transitions", ["laplace", "natural"])
def test_shapes_dtypes_and_ranges(transitions):
    data = make_sprite_sequences(
        300, transitions=transitions, image_size=32, n_groups=3, random_state=0
    )
    assert data.X.shape == (300, 32 * 32) and data.X.dtype == np.float32
    assert set(np.unique(data.X).tolist()) <= {0.0, 1.0}
    assert data.factors.shape == (300, 5) and data.target.shape == (300, 4)
    assert data.image_shape == (1, 32, 32)
    shape, scale, theta, x, y = data.factors.T
    assert set(np.unique(shape).astype(int).tolist()) <= set(range(len(SPRITE_SHAPES)))
    assert scale.min() >= 0.5 and scale.max() <= 1.0
    assert theta.min() >= 0.0 and theta.max() <= np.pi / 4
    assert x.min() >= 0 and x.max() <= 1 and y.min() >= 0 and y.max() <= 1
    assert sorted(set(data.groups.tolist())) == [0, 1, 2]
    # Every frame shows a sprite, fully inside the frame.
    frames = data.X.reshape(-1, 32, 32)
    assert (frames.sum(axis=(1, 2)) > 0).all()
    assert frames[:, 0, :].sum() == 0 and frames[:, -1, :].sum() == 0


def test_deterministic():
    a = make_sprite_sequences(50, image_size=16, random_state=3)
    b = make_sprite_sequences(50, image_size=16, random_state=3)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.factors, b.factors)
    c = make_sprite_sequences(50, image_size=16, random_state=4)
    assert not np.array_equal(a.factors, c.factors)


def test_shape_held_within_recording():
    data = make_sprite_sequences(400, image_size=16, n_groups=4, random_state=0)
    for g in range(4):
        assert np.unique(data.factors[data.groups == g, 0]).size == 1
    only = make_sprite_sequences(40, shapes=("heart",), image_size=16, random_state=0)
    assert (only.factors[:, 0] == SPRITE_SHAPES.index("heart")).all()


@pytest.mark.parametrize("transitions,min_kurtosis", [("laplace", 1.5), ("natural", 4.0)])
def test_sparse_transitions(transitions, min_kurtosis):
    data = make_sprite_sequences(6000, transitions=transitions, image_size=8, random_state=0)
    steps = np.diff(data.target, axis=0)
    # Away from the reflecting walls the steps are heavy-tailed (excess kurtosis > 0).
    assert np.median(np.abs(steps), axis=0).max() < 0.05
    k = stats.kurtosis(steps, axis=0)
    assert (k[[0, 2, 3]] > min_kurtosis).all()


def test_frames_follow_factors():
    # Moving x moves the sprite's centre of mass to the right.
    data = make_sprite_sequences(500, image_size=32, random_state=1)
    frames = data.X.reshape(-1, 32, 32)
    com_x = (frames.sum(axis=1) * np.arange(32)).sum(1) / frames.sum(axis=(1, 2))
    com_y = (frames.sum(axis=2) * np.arange(32)).sum(1) / frames.sum(axis=(1, 2))
    assert stats.spearmanr(com_x, data.factors[:, 3])[0] > 0.9
    assert stats.spearmanr(com_y, data.factors[:, 4])[0] > 0.9
    area = frames.sum(axis=(1, 2))
    assert stats.spearmanr(area, data.factors[:, 1])[0] > 0.8


def test_invalid_arguments():
    with pytest.raises(ValueError, match="transitions"):
        make_sprite_sequences(10, transitions="brownian")
    with pytest.raises(ValueError, match="shapes"):
        make_sprite_sequences(10, shapes=("triangle",))
    with pytest.raises(ValueError, match="image_size"):
        make_sprite_sequences(10, image_size=4)
    with pytest.raises(ValueError, match="n_groups"):
        make_sprite_sequences(3, n_groups=5)


def test_shapes_not_a_sequence_is_a_clear_type_error():
    with pytest.raises(TypeError, match="shapes must be a shape name or a sequence"):
        make_sprite_sequences(shapes=3)
