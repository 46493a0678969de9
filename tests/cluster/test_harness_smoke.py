from tests.cluster.harness import Cluster


async def test_three_nodes_start_on_one_database(cluster: Cluster) -> None:
    nodes = await cluster.start("A", "B", "C")
    for node in nodes:
        async with node.api() as api:
            health = (await api.get("/health")).json()
            assert health["node"] == node.name
            assert (await api.get("/api/v1/charge-points")).status_code == 200
