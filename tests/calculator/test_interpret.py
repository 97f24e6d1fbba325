"""How INPUT's rank is read (calculator/interpret.py): 2 spatial dims first, then
--dims, a tuple option or an -i that fits one reading; the note says which reading
and how to get the other exactly when there was a choice."""

import pytest

from convcli import ConvError
from convcli.calculator.interpret import Reading, interpret, read_spec, readings


def test_every_rank_has_its_readings_default_first():
    assert readings(2) == [Reading(1, False)]
    assert readings(3) == [Reading(2, False), Reading(1, True)]
    assert readings(4) == [Reading(2, True), Reading(3, False)]
    assert readings(5) == [Reading(3, True)]
    assert readings(1) == readings(6) == []


@pytest.mark.parametrize("shape, dims, batched, alt", [
    ((3, 224, 224), 2, False, (1, True)), ((4, 3, 64, 64), 2, True, (3, False)),
    ((3, 50), 1, False, None), ((1, 3, 8, 8, 8), 3, True, None),
])
def test_rank_alone(shape, dims, batched, alt):
    r = interpret(shape, None, None, None)
    assert (r.reading.dims, r.reading.batched, r.decided_by) == (dims, batched, "rank")
    assert (None if r.alternative is None else (r.alternative.dims, r.alternative.batched)) \
        == alt
    assert (r.note() is None) == (alt is None and len(shape) != 2)


def test_two_dims_say_they_are_a_sequence_not_an_image():
    """224x224 can only be a Conv1d's (C, L): read so, and said, since the user most
    likely left out an image's channel; -i that agrees with it silences the note."""
    r = interpret((224, 224), None, None, None)
    assert r.note() == ("read 224x224 as one unbatched input (C, L) for a Conv1d; a 2-d "
                        "conv needs the channels too: 1x224x224 for one gray image")
    assert interpret((224, 224), None, None, None).note(transposed=True).startswith(
        "read 224x224 as one unbatched input (C, L) for a ConvTranspose1d")
    quiet = interpret((3, 224), None, None, 3)
    assert quiet.decided_by == "--in-channels" and quiet.note() is None
    assert interpret((3, 224), 1, "--dims", None).note() is None


def test_in_channels_picks_the_reading_it_fits():
    r = interpret((3, 224, 224), None, None, 224)
    assert (r.reading, r.decided_by) == (Reading(1, True), "--in-channels")
    assert r.note() == ("read 3x224x224 as a batch of 3 (N, C, L) for a Conv1d "
                        "(--in-channels 224 fits its C); for one unbatched input (C, H, W) "
                        "use --dims 2")
    r = interpret((3, 224, 224), None, None, 3)        # confirms the default: no note
    assert r.reading == Reading(2, False) and r.note() is None
    r = interpret((3, 3, 8), None, None, 3)            # fits both: the rank decides
    assert r.decided_by == "rank" and r.reading == Reading(2, False) and r.note()
    with pytest.raises(ConvError, match="--in-channels 5 fits no reading of INPUT 3x224x224: "
                                        r"as \(C, H, W\) it has 3 channels, as \(N, C, L\) 224"):
        interpret((3, 224, 224), None, None, 5)


def test_dims_and_tuple_options_decide_without_a_note():
    r = interpret((3, 224, 224), 1, "--dims", None)
    assert (r.reading, r.decided_by, r.note()) == (Reading(1, True), "--dims", None)
    assert r.alternative == Reading(2, False)
    spec, r = read_spec(out_channels="4", kernel_size="3,3,3", input_shape=(4, 3, 64, 64))
    assert spec.kind_name == "Conv3d" and spec.in_channels == 4
    assert (r.decided_by, r.reading.batched, r.note()) == ("--kernel-size", False, None)
    spec, r = read_spec(out_channels="4", kernel_size="3", in_channels="8")
    assert spec.dims == 2 and r is None


def test_note_names_the_layer_kind():
    r = interpret((0, 3, 5, 5), None, None, None)
    assert r.note(transposed=True).startswith("read 0x3x5x5 as a batch of 0 (N, C, H, W) "
                                              "for a ConvTranspose2d; for one unbatched")
    assert r.as_dict(True)["alternative"] == {"dims": 3, "batched": False,
                                              "layout": "C, D, H, W", "option": "--dims 3"}


@pytest.mark.parametrize("shape", [(8,), (1, 3, 4, 8, 8, 8)])
def test_ranks_no_conv_takes(shape):
    with pytest.raises(ConvError, match=f"has {len(shape)} dims; a conv input has 2 to 5"):
        read_spec(out_channels="4", kernel_size="3", input_shape=shape)
