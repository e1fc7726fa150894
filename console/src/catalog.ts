import { api, type CatalogModel, type Container, type ListEnvelope } from './api';
import { useResource } from './use-resource';

/** The model catalog (`GET /v1/models`), for pickers and filter suggestions. */
export function useModels() {
  return useResource('models', (signal) =>
    api<ListEnvelope<CatalogModel>>('/v1/models', { signal }).then((list) =>
      list.data.map((model) => model.id),
    ),
  );
}

/** The project's containers (first 100), for filter suggestions. */
export function useContainerLabels() {
  return useResource('container-labels', (signal) =>
    api<ListEnvelope<Container>>('/v1/containers?limit=100', { signal }).then((list) =>
      list.data.map((container) => container.label),
    ),
  );
}
