package sizecalculator

import (
	"context"

	sizecalculatorv1 "github.com/stratadb/strata/proto/gen/strata/sizecalculator/v1"
)

// api implements sizecalculatorv1.SizeCalculatorServiceServer.
type api struct {
	sizecalculatorv1.UnimplementedSizeCalculatorServiceServer
}

// GetTenantSize computes a tenant's synthetic size.
func (api) GetTenantSize(context.Context, *sizecalculatorv1.GetTenantSizeRequest) (*sizecalculatorv1.GetTenantSizeResponse, error) {
	return nil, toStatus(errNotImplemented("GetTenantSize: the tenant size model is not implemented yet"))
}
