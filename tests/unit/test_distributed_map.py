"""local_stack.aws.distributed_map on its own: an ItemBatcher's MaxItemsPerBatchPath (issue 25),
read from the Map's input as AWS reads it
(https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html)."""

import json

import pytest

from local_stack.aws.distributed_map import InvalidItemBatcher, ItemBatcher, batches, local_definition


def _definition(batcher: dict) -> str:
    return json.dumps(
        {
            "StartAt": "Map",
            "States": {
                "Map": {
                    "Type": "Map",
                    "ItemBatcher": batcher,
                    "MaxConcurrencyPath": "$.sizing.max_concurrency",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            },
        }
    )


def test_a_batcher_by_path_is_taken_out_with_its_path_and_read_from_the_maps_input():
    rewritten, batchers = local_definition(
        _definition({"MaxItemsPerBatchPath": "$.sizing.batch_size", "BatchInput": {"b.$": "$.b"}})
    )

    map_state = json.loads(rewritten)["States"]["Map"]
    assert "ItemBatcher" not in map_state and map_state["MaxConcurrencyPath"] == "$.sizing.max_concurrency"
    batcher = batchers["Map"]
    assert (batcher.max_items, batcher.max_items_path) == (None, "$.sizing.batch_size")
    resolved = batcher.resolved({"sizing": {"batch_size": 2}, "b": "x"})
    assert resolved.max_items == 2 and resolved.batch_input == {"b.$": "$.b"}
    assert [len(b["Items"]) for b in batches([1, 2, 3, 4, 5], resolved)] == [2, 2, 1]


def test_a_literal_batcher_stays_as_it_was():
    _, batchers = local_definition(_definition({"MaxItemsPerBatch": 3}))

    assert batchers["Map"].resolved({}) == ItemBatcher(3, None)


@pytest.mark.parametrize("value", [0, -1, 2.5, "2", True, None])
def test_a_path_that_selects_no_positive_integer_is_refused_by_name(value):
    batcher = ItemBatcher(None, None, "$.size")

    with pytest.raises(InvalidItemBatcher, match=r"MaxItemsPerBatchPath .*\$\.size"):
        batcher.resolved({"size": value})


def test_a_path_that_selects_nothing_is_refused_by_name():
    with pytest.raises(InvalidItemBatcher, match="refers to no value"):
        ItemBatcher(None, None, "$.sizing.size").resolved({"sizing": {}})
