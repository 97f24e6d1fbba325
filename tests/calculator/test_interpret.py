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
    # the note only for rank 3 (two readings, nothing decided) and the rank-2 sequence
    assert (r.note() is None) == (len(shape) not in (2, 3))


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
    assert r.note() is None         # -i decided: nothing to say
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
    r = interpret((3, 5, 5), None, None, None)
    assert r.note(transposed=True).startswith("read 3x5x5 as one unbatched input (C, H, W) "
                                              "for a ConvTranspose2d; for a batch of 3")
    r = interpret((0, 3, 5, 5), None, None, None)
    assert r.note() is None
    assert r.as_dict(True)["alternative"] == {"dims": 3, "batched": False,
                                              "layout": "C, D, H, W", "option": "--dims 3"}


@pytest.mark.parametrize("shape", [(8,), (1, 3, 4, 8, 8, 8)])
def test_ranks_no_conv_takes(shape):
    with pytest.raises(ConvError, match=f"has {len(shape)} dims; a conv input has 2 to 5"):
        read_spec(out_channels="4", kernel_size="3", input_shape=shape)


def test_an_in_channels_that_turns_a_batch_of_images_into_a_conv3d_is_an_error():
    """Issue 20: `shape 4x3x64x64 -o 16 -k 3 -i 4` answered a Conv3d."""
    with pytest.raises(ConvError) as e:
        read_spec(out_channels="16", kernel_size="3", in_channels="4",
                  input_shape=(4, 3, 64, 64))
    assert str(e.value) == (
        "--in-channels 4 fits INPUT 4x3x64x64 only as one unbatched input (C, D, H, W) for "
        "a Conv3d, but the shape reads as a batch of 4 (N, C, H, W) with 3 channels for a "
        "Conv2d; for the Conv2d give -i 3, for the Conv3d add --dims 3")
    spec, _ = read_spec(out_channels="16", kernel_size="3", in_channels="4", dims=3,
                        input_shape=(4, 3, 64, 64))
    assert spec.kind_name == "Conv3d"


def test_a_rank_3_shape_that_reads_as_well_both_ways_is_asked_about():
    """Issue 20: `shape 8x16x100 -o 32 -k 5` answered a Conv2d with 8 channels."""
    with pytest.raises(ConvError, match=r"INPUT 8x16x100 reads two ways: one unbatched "
                                        r"input \(C, H, W\) with 8 channels for a Conv2d, "
                                        r"or a batch of 8 \(N, C, L\) with 16 channels"):
        read_spec(out_channels="32", kernel_size="5", input_shape=(8, 16, 100))
    spec, r = read_spec(out_channels="32", kernel_size="5", in_channels="16",
                        input_shape=(8, 16, 100))
    assert spec.kind_name == "Conv1d" and r.note() is None
    for image in ((3, 17, 100), (64, 56, 56)):     # RGB, a square feature map: read so
        spec, r = read_spec(out_channels="8", kernel_size="3", input_shape=image)
        assert spec.kind_name == "Conv2d" and r.note()


def test_every_source_of_the_dims_decides_together():
    spec, r = read_spec(out_channels="4", kernel_size="4", input_shape=(1, 4, 13),
                        weight_dims=1)
    assert spec.kind_name == "Conv1d" and r.decided_by == "--weight-file"
    with pytest.raises(ConvError, match="--weight-file says a 1-d conv but --kernel-size a "
                                        "2-d one"):
        read_spec(out_channels="4", kernel_size="4,4", input_shape=(1, 4, 13),
                  weight_dims=1)
    with pytest.raises(ConvError, match="Conv1d says a 1-d conv but --weight-file a 2-d"):
        read_spec(out_channels="4", kernel_size="4", dims=1, dims_by="Conv1d",
                  input_shape=(1, 4, 13), weight_dims=2)
